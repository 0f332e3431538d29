"""The rarest colour marks both ends of some rows or columns: those become full lines, and everything else is erased."""


def task(img):
    color = least_common_color(img, exclude=(0,))
    out = create_img(img.shape, 0)
    for r in range(img.shape[0]):
        if img[r, 0] == color and img[r, -1] == color:
            draw_horizontal_line(out, r, color)
    for c in range(img.shape[1]):
        if img[0, c] == color and img[-1, c] == color:
            draw_vertical_line(out, c, color)
    return out
