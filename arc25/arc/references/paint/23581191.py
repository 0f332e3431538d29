"""Each of the two cells becomes a full row and column of its colour; where they cross turns red."""


def task(img):
    out = img.copy()
    (r1, c1), (r2, c2) = cells_of(img, 8)[0], cells_of(img, 7)[0]
    for (r, c), color in [((r1, c1), 8), ((r2, c2), 7)]:
        draw_horizontal_line(out, r, color)
        draw_vertical_line(out, c, color)
    fill(out, [(r1, c2), (r2, c1)], 2)
    return out
