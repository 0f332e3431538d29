"""Under the middle of each cup a yellow mark appears on the bottom row."""


def task(img):
    out = img.copy()
    for obj in find_objects(img):
        draw_pixel(out, (img.shape[0] - 1, obj.left + obj.width // 2), 4)
    return out
