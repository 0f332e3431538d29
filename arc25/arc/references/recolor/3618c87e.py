"""Each blue cell drops through its grey post into the bottom row."""


def task(img):
    out = img.copy()
    for r, c in cells_of(img, 1):
        out[r, c] = 0
        out[-1, c] = 1
    return out
