"""Stray cells move, nearest first, until they touch the grey band, and join it as grey cells."""


def task(img):
    band = max(find_objects(img), key=lambda o: o.size)
    across = band.width == img.shape[1]
    out = replace_color(img, colors(img, exclude=(0, 5))[0], 0)
    strays = [o for o in find_objects(img) if o.color != 5]
    for obj in sorted(strays, key=lambda o: abs(o.top - band.center[0]) if across else abs(o.left - band.center[1])):
        if across:
            direction = "down" if obj.top < band.top else "up"
        else:
            direction = "right" if obj.left < band.left else "left"
        draw_object(out, move_until_contact(obj, direction, out), 5)
    return out
