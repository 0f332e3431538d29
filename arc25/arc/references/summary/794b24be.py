"""The number of blue cells is counted in red: up to three along the top row, a fourth in the centre."""


def task(img):
    n = color_count(img, 1)
    out = create_img(img.shape, 0)
    out[0, :min(n, 3)] = 2
    if n == 4:
        draw_pixel(out, (1, 1), 2)
    return out
