"""From the ends of the cup's top bar, diagonal rays of the colour at the middle of the base rise outwards."""


def task(img):
    out = img.copy()
    bar = [c for c in range(img.shape[1]) if img[-2, c] != 0]
    row = img.shape[0] - 2
    draw_ray(out, (row, bar[0]), "up-left", img[-1, img.shape[1] // 2])
    draw_ray(out, (row, bar[-1]), "up-right", img[-1, img.shape[1] // 2])
    return out
