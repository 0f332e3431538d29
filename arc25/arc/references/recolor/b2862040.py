"""Blue shapes that enclose background turn azure."""


def task(img):
    out = img.copy()
    for obj in find_objects(img, background=9):
        if obj.color == 1 and holes(obj):
            draw_object(out, obj, 8)
    return out
