"""Cells with no neighbour of their colour (diagonals count) are erased."""


def task(img):
    out = img.copy()
    for obj in find_objects(img, connectivity=8):
        if obj.size == 1:
            erase_object(out, obj)
    return out
