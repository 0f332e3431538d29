"""Each green cell takes the colour of the nearer of the two border lines."""


def task(img):
    out = img.copy()
    height, width = img.shape
    sides = img[0, 0] == img[-1, 0]
    for r, c in cells_of(img, 3):
        if sides:
            out[r, c] = img[r, 0] if c < width / 2 else img[r, -1]
        else:
            out[r, c] = img[0, c] if r < height / 2 else img[-1, c]
    return out
