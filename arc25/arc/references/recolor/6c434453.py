"""Every hollow blue 3x3 square becomes a red plus."""


def task(img):
    out = img.copy()
    for obj in find_objects(img):
        if obj.height == 3 and obj.width == 3 and obj.size == 8:
            erase_object(out, obj)
            (r, c) = (obj.top + 1, obj.left + 1)
            fill(out, [(r, c), (r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)], 2)
    return out
