"""The inside of every rectangle (all but its border) turns azure."""


def task(img):
    out = img.copy()
    for obj in find_objects(img):
        out[obj.top + 1:obj.bottom, obj.left + 1:obj.right] = 8
    return out
