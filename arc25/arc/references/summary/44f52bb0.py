"""Answer blue when the pattern is mirror-symmetric left-right, orange otherwise."""


def task(img):
    return create_img((1, 1), 1 if (img == flip(img, "lr")).all() else 7)
