"""The cell drops one row; above where it was, every second column (in step with it) turns yellow."""


def task(img):
    (r, c) = [p for color in colors(img, exclude=(0,)) for p in cells_of(img, color)][0]
    out = create_img(img.shape, 0)
    out[r + 1, c] = img[r, c]
    for col in range(c % 2, img.shape[1], 2):
        out[:r + 1, col] = 4
    return out
