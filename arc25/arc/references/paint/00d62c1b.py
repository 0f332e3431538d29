"""Cells enclosed by green shapes (unreachable from the border) turn yellow."""


def task(img):
    out = img.copy()
    for obj in find_objects(img, connectivity=8):
        fill(out, [p for p in holes(obj) if img[p] == 0], 4)
    return out
