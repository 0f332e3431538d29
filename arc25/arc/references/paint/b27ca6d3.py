"""Red pairs (two-cell shapes) get a green ring; lone red cells stay."""


def task(img):
    out = img.copy()
    for obj in find_objects(img):
        if obj.size == 2:
            fill(out, outline(obj, diagonal=True), 3)
    return out
