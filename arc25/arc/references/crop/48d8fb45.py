"""Crop the shape the grey marker sits on."""


def task(img):
    objs = find_objects(img, connectivity=8)
    marker = [o for o in objs if o.color == 5][0]
    return [o for o in objs if o.color != 5 and touches(o, marker, diagonal=True)][0].sprite()
