"""Grey shapes are recoloured by size: four cells blue, three red, two green."""


def task(img):
    out = img.copy()
    for obj in find_objects(img):
        draw_object(out, obj, {4: 1, 3: 2, 2: 3}[obj.size])
    return out
