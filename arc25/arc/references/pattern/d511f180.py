"""Grey and azure swap."""


def task(img):
    return swap_colors(img, 5, 8)
