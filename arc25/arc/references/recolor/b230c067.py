"""Of the azure shapes, the one whose shape differs from the others turns red; the others turn blue."""


def task(img):
    shapes = find_objects(img, connectivity=8)
    odd = unique_by(shapes, lambda o: o.shape)
    out = img.copy()
    for obj in shapes:
        draw_object(out, obj, 2 if obj == odd else 1)
    return out
