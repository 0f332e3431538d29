"""Every coloured cell drips its colour down to the bottom edge."""


def task(img):
    out = img.copy()
    for r, c in [(r, c) for color in colors(img, exclude=(0,)) for r, c in cells_of(img, color)]:
        draw_ray(out, (r, c), "down", img[r, c])
    return out
