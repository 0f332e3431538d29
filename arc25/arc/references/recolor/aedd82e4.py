"""Red cells with no red neighbour (diagonals do not count) turn blue."""


def task(img):
    out = img.copy()
    for obj in find_objects(img):
        if obj.size == 1:
            draw_object(out, obj, 1)
    return out
