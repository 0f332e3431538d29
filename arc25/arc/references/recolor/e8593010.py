"""Black shapes on grey are recoloured by size: one cell green, two red, three blue."""


def task(img):
    out = img.copy()
    for obj in find_objects(img, background=5):
        draw_object(out, obj, {1: 3, 2: 2, 3: 1}[obj.size])
    return out
