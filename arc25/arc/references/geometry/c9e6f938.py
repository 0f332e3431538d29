"""Put the grid beside its left-right mirror image."""


def task(img):
    return concat(img, flip(img, "lr"), "right")
