"""Blue shapes that enclose background turn green."""


def task(img):
    out = img.copy()
    for obj in find_objects(img):
        if holes(obj):
            draw_object(out, obj, 3)
    return out
