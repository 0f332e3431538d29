"""List the shapes' colours from largest to smallest."""


def task(img):
    ranked = sorted(colors(img, exclude=(0,)), key=lambda c: -color_count(img, c))
    out = create_img((len(ranked), 1))
    for i, color in enumerate(ranked):
        draw_pixel(out, (i, 0), color)
    return out
