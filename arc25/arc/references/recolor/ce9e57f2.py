"""The lower half of each red bar (rounded down) turns azure."""


def task(img):
    out = img.copy()
    for obj in find_objects(img):
        out[obj.bottom - obj.height // 2 + 1:obj.bottom + 1, obj.left] = 8
    return out
