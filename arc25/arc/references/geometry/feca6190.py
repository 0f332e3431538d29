"""Shoot each coloured cell diagonally up-right from the bottom of a square five times the colour count wide."""


def task(img):
    n = 5 * len(colors(img, exclude=(0,)))
    out = create_img((n, n))
    for c in range(img.shape[1]):
        if img[0, c] != 0:
            draw_pixel(out, (n - 1, c), img[0, c])
            draw_ray(out, (n - 1, c), "up-right", img[0, c])
    return out
