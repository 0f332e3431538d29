"""Rows of one colour turn grey; every other row turns black."""


def task(img):
    out = create_img(img.shape, 0)
    for r in range(img.shape[0]):
        if len(colors(img[r:r + 1])) == 1:
            draw_horizontal_line(out, r, 5)
    return out
