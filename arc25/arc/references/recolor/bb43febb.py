"""The inside of every grey rectangle (all but its border) turns red."""


def task(img):
    out = img.copy()
    for obj in find_objects(img):
        out[obj.top + 1:obj.bottom, obj.left + 1:obj.right] = 2
    return out
