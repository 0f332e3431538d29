"""The blue square sends a blue diagonal up-left, the red square a red diagonal down-right."""


def task(img):
    out = img.copy()
    for obj in find_objects(img):
        if obj.color == 1:
            draw_ray(out, (obj.top, obj.left), "up-left", 1)
        else:
            draw_ray(out, (obj.bottom, obj.right), "down-right", 2)
    return out
