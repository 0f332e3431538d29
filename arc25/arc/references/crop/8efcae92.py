"""Crop the blue rectangle that holds the most red cells."""


def task(img):
    objs = find_objects(img, by_color=False)
    return max(objs, key=lambda o: o.colors.count(2)).sprite()
