"""Among the background regions the red walls cut out, the largest turn blue and the smallest azure."""


def task(img):
    out = img.copy()
    regions = find_objects(img, background=2)
    sizes = [region.size for region in regions]
    for region in regions:
        if region.size == max(sizes):
            draw_object(out, region, 1)
        elif region.size == min(sizes):
            draw_object(out, region, 8)
    return out
