"""Magenta turns red; orange stays."""


def task(img):
    return replace_color(img, 6, 2)
