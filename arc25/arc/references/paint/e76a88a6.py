"""Every grey block is replaced by a copy of the coloured pattern of the same size."""


def task(img):
    out = img.copy()
    shapes = find_objects(img, by_color=False)
    pattern = [o for o in shapes if o.color != 5][0].sprite()
    for obj in shapes:
        if obj.color == 5:
            paste(out, pattern, (obj.top, obj.left))
    return out
