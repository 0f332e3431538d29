"""Crop the shape and mirror it left-right."""


def task(img):
    return flip(crop_to_content(img), "lr")
