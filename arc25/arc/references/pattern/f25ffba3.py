"""The pattern in the bottom half is mirrored onto the empty top half."""


def task(img):
    out = img.copy()
    empty = img == 0
    out[empty] = flip(img, "ud")[empty]
    return out
