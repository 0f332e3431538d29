"""The inside of the larger yellow rectangle turns red, of the smaller one blue."""


def task(img):
    out = img.copy()
    for obj, color in zip(sorted(find_objects(img), key=lambda o: o.size), [1, 2]):
        out[obj.top + 1:obj.bottom, obj.left + 1:obj.right] = color
    return out
