"""Grow the coloured run by one cell per row into a staircase half as tall as the row is wide."""


def task(img):
    w = img.shape[1]
    color = img[0, 0]
    k = color_count(img, color)
    out = create_img((w // 2, w))
    for i in range(w // 2):
        draw_line(out, (i, 0), (i, k + i - 1), color)
    return out
