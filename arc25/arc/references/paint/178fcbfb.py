"""Red cells become full columns, then blue and green cells full rows over them."""


def task(img):
    out = img.copy()
    for _, c in cells_of(img, 2):
        draw_vertical_line(out, c, 2)
    for color in (1, 3):
        for r, _ in cells_of(img, color):
            draw_horizontal_line(out, r, color)
    return out
