"""Stack the grid above its upside-down mirror image."""


def task(img):
    return concat(img, flip(img, "ud"), "down")
