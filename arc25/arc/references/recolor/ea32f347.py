"""Grey lines are recoloured by length: longest blue, middle yellow, shortest red."""


def task(img):
    out = img.copy()
    for obj, color in zip(sorted(find_objects(img), key=lambda o: -o.size), [1, 4, 2]):
        draw_object(out, obj, color)
    return out
