"""Background regions the lines enclose turn red; the open background turns green."""


def task(img):
    out = img.copy()
    line = colors(img, exclude=(0,))[0]
    for region in find_objects(img, background=line):
        edge = region.top == 0 or region.left == 0 or region.bottom == img.shape[0] - 1 or region.right == img.shape[1] - 1
        draw_object(out, region, 3 if edge else 2)
    return out
