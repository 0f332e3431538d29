"""Every background region that touches a blue cell turns blue."""


def task(img):
    out = img.copy()
    inside = lambda p: 0 <= p[0] < img.shape[0] and 0 <= p[1] < img.shape[1]
    for region in find_objects(img, background=1):
        if region.color == 0 and any(img[p] == 1 for p in outline(region) if inside(p)):
            draw_object(out, region, 1)
    return out
