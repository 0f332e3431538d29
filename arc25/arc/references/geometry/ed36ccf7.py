"""Rotate the grid a quarter turn anticlockwise."""


def task(img):
    return rotate(img, 3)
