"""Crop the smallest rectangle."""


def task(img):
    return min(find_objects(img), key=lambda o: o.size).sprite()
