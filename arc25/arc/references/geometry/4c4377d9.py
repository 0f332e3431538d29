"""Stack the grid under its upside-down mirror image."""


def task(img):
    return concat(flip(img, "ud"), img, "down")
