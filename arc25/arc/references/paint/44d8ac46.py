"""A grey shape's enclosed hole that is a filled square turns red."""


def task(img):
    out = img.copy()
    for obj in find_objects(img):
        enclosed = fill(create_img(img.shape, 0), holes(obj), 1)
        for hole in find_objects(enclosed):
            if hole.is_square:
                draw_object(out, hole, 2)
    return out
