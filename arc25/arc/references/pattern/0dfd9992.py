"""A periodic pattern with black holes: the holes are filled from the pattern's period."""


def task(img):
    return complete_pattern(img, 0)
