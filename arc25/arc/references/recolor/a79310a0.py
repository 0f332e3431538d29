"""The azure shape moves one cell down and turns red."""


def task(img):
    out = create_img(img.shape, 0)
    for obj in find_objects(img):
        draw_object(out, move(obj, 1, 0), 2)
    return out
