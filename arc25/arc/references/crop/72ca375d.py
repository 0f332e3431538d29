"""Crop the shape that is mirror-symmetric left-right."""


def task(img):
    objs = find_objects(img, connectivity=8)
    return unique_by(objs, lambda o: bool((o.sprite() == flip(o.sprite(), "lr")).all())).sprite()
