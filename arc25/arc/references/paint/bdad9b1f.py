"""The azure stub becomes a full column, the red stub a full row, and their crossing turns yellow."""


def task(img):
    out = img.copy()
    (_, c), (r, _) = cells_of(img, 8)[0], cells_of(img, 2)[0]
    draw_vertical_line(out, c, 8)
    draw_horizontal_line(out, r, 2)
    draw_pixel(out, (r, c), 4)
    return out
