"""Read each of the three grey panels' hole pattern as a colour and paint one row per panel."""


def task(img):
    out = create_img((3, 3))
    for i in range(3):
        p = img[:, 5 * i:5 * i + 4]
        if color_count(p, 0) == 0:
            color = 2
        elif p[1, 0] == 0:
            color = 3
        elif p[1, 1] == 0:
            color = 8
        else:
            color = 4
        draw_horizontal_line(out, i, color)
    return out
