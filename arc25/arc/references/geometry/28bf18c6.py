"""Crop the shape and repeat it twice side by side."""


def task(img):
    return tile(crop_to_content(img), 1, 2)
