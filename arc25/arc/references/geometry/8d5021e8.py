"""Put the left-right mirror beside the grid, then stack that strip mirrored, plain, mirrored."""


def task(img):
    strip = concat(flip(img, "lr"), img, "right")
    upside = flip(strip, "ud")
    return concat(concat(upside, strip, "down"), upside, "down")
