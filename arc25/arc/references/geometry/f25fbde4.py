"""Crop the shape and scale it up two times."""


def task(img):
    return upscale(crop_to_content(img), 2)
