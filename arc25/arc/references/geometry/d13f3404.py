"""On a doubled canvas, every coloured cell shoots a diagonal trail down-right."""


def task(img):
    h, w = img.shape
    out = paste(create_img((2 * h, 2 * w)), img, (0, 0))
    for obj in find_objects(img):
        for point in obj.cells:
            draw_ray(out, point, "down-right", obj.color)
    return out
