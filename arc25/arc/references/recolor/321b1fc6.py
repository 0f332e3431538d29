"""Every azure block is replaced by a copy of the coloured template, which itself goes."""


def task(img):
    shapes = find_objects(img, by_color=False)
    template = [o for o in shapes if o.color != 8][0].sprite()
    out = create_img(img.shape, 0)
    for obj in shapes:
        if obj.color == 8:
            paste(out, template, (obj.top, obj.left))
    return out
