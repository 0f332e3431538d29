"""Rotate the grid by half a turn."""


def task(img):
    return rotate(img, 2)
