"""Grey bars are recoloured by height rank: tallest blue, then red, green, yellow."""


def task(img):
    out = img.copy()
    for rank, obj in enumerate(sorted(find_objects(img), key=lambda o: -o.size)):
        draw_object(out, obj, rank + 1)
    return out
