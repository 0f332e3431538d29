"""Where a green cell touches a red one, the green turns azure and the red goes."""


def task(img):
    out = img.copy()
    for obj in find_objects(img, by_color=False):
        if sorted(obj.colors) == [2, 3]:
            for cell, color in zip(obj.cells, obj.colors):
                out[cell] = 8 if color == 3 else 0
    return out
