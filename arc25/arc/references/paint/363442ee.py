"""A copy of the 3x3 pattern in the corner is stamped centred on every blue marker."""


def task(img):
    template = crop(img, (0, 0), (2, 2))
    out = img.copy()
    for r, c in cells_of(img, 1):
        paste(out, template, (r - 1, c - 1))
    return out
