"""Grey shapes of six cells turn red, every other grey shape blue."""


def task(img):
    out = img.copy()
    for obj in find_objects(img):
        draw_object(out, obj, 2 if obj.size == 6 else 1)
    return out
