"""Crop the largest shape."""


def task(img):
    return max(find_objects(img, connectivity=8), key=lambda o: o.size).sprite()
