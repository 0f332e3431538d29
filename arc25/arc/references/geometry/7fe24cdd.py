"""Make a 2x2 pinwheel of the grid rotated by 0, 1, 3 and 2 quarter turns."""


def task(img):
    top = concat(img, rotate(img, 1), "right")
    return concat(top, rotate(top, 2), "down")
