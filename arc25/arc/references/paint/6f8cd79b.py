"""The grid gets an azure border."""


def task(img):
    out = img.copy()
    draw_border(out, (0, 0), (img.shape[0] - 1, img.shape[1] - 1), 8)
    return out
