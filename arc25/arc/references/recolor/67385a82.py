"""Green shapes of two or more cells turn azure; lone green cells stay."""


def task(img):
    out = img.copy()
    for obj in find_objects(img):
        if obj.color == 3 and obj.size >= 2:
            draw_object(out, obj, 8)
    return out
