"""List the colours of the largest shapes, left to right, as columns as tall as those shapes are big."""


def task(img):
    objs = find_objects(img, connectivity=8)
    size = max(o.size for o in objs)
    largest = sorted([o for o in objs if o.size == size], key=lambda o: o.left)
    out = create_img((size, len(largest)))
    for i, obj in enumerate(largest):
        draw_vertical_line(out, i, obj.color)
    return out
