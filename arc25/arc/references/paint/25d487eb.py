"""The arrow shoots a ray of its tail colour out of its tip, in the direction it points."""


def task(img):
    tail = least_common_color(img, exclude=(0,))
    (r, c) = cells_of(img, tail)[0]
    row, col = find_objects(img, by_color=False)[0].center
    step = ((row > r) - (row < r), (col > c) - (col < c))
    direction = {(-1, 0): "up", (1, 0): "down", (0, -1): "left", (0, 1): "right"}[step]
    out = img.copy()
    draw_ray(out, (r, c), direction, tail)
    out[img != 0] = img[img != 0]
    return out
