"""List the colour bands in the order they run across the grid."""


def task(img):
    across = len(colors(img[:1])) > 1
    axis = 1 if across else 0
    ranked = sorted(colors(img), key=lambda k: sum(p[axis] for p in cells_of(img, k)) / color_count(img, k))
    out = create_img((1, len(ranked)) if across else (len(ranked), 1))
    for i, color in enumerate(ranked):
        draw_pixel(out, (0, i) if across else (i, 0), color)
    return out
