"""Each blue square outline is filled: red when its inside has an even side, orange when odd."""


def task(img):
    out = img.copy()
    for obj in find_objects(img):
        fill(out, holes(obj), 2 if obj.height % 2 == 0 else 7)
    return out
