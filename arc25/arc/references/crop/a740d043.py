"""Crop the figure off the blue background, turning leftover blue to black."""


def task(img):
    return replace_color(crop_to_content(img, background=1), 1, 0)
