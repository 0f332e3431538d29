"""Rows and columns that run clear across the inside of the frame turn green."""


def task(img):
    out = img.copy()
    for r in range(1, img.shape[0] - 1):
        if not img[r, 1:-1].any():
            out[r, 1:-1] = 3
    for c in range(1, img.shape[1] - 1):
        if not img[1:-1, c].any():
            out[1:-1, c] = 3
    return out
