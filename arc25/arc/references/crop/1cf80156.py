"""Crop the grid to its only shape."""


def task(img):
    return crop_to_content(img)
