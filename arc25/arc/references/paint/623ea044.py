"""The one coloured cell sends rays of its colour along both diagonals in all four directions."""


def task(img):
    out = img.copy()
    color = colors(img, exclude=(0,))[0]
    point = cells_of(img, color)[0]
    for direction in ("up-left", "up-right", "down-left", "down-right"):
        draw_ray(out, point, direction, color)
    return out
