"""The shape with the same form as the one fenced in the grey corner turns grey."""


def task(img):
    shapes = [o for o in find_objects(img) if o.color != 5]
    template = [o for o in shapes if o.top < 3 and o.left < 3][0]
    out = img.copy()
    for obj in shapes:
        if obj != template and same_shape(obj, template):
            draw_object(out, obj, 5)
    return out
