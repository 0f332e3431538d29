"""Both diagonals of the square grid turn black."""


def task(img):
    out = img.copy()
    n = img.shape[0]
    draw_line(out, (0, 0), (n - 1, n - 1), 0)
    draw_line(out, (0, n - 1), (n - 1, 0), 0)
    return out
