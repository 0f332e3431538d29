"""Each two cells of one colour are joined by a diagonal line of that colour."""


def task(img):
    out = img.copy()
    for color in colors(img, exclude=(0,)):
        a, b = cells_of(img, color)
        draw_line(out, a, b, color)
    return out
