"""The hole of each grey square is filled by its size: one cell magenta, four orange, nine azure."""


def task(img):
    out = img.copy()
    for obj in find_objects(img):
        inside = holes(obj)
        fill(out, inside, {1: 6, 4: 7, 9: 8}[len(inside)])
    return out
