"""Two cells of one colour are opposite corners of a filled rectangle of that colour."""


def task(img):
    out = img.copy()
    for color in colors(img, exclude=(0,)):
        a, b = cells_of(img, color)
        draw_rectangle(out, a, b, color)
    return out
