"""Draw each colour as a column as long as its cell count, most frequent colour first."""


def task(img):
    ranked = sorted(colors(img), key=lambda k: -color_count(img, k))
    out = create_img((color_count(img, ranked[0]), len(ranked)))
    for i, color in enumerate(ranked):
        draw_line(out, (0, i), (color_count(img, color) - 1, i), color)
    return out
