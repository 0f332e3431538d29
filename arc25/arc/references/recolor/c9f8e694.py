"""Grey cells take the colour of their row's cell in the first column."""


def task(img):
    out = img.copy()
    for r, c in cells_of(img, 5):
        out[r, c] = img[r, 0]
    return out
