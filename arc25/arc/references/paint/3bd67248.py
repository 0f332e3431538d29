"""Next to the left column: a red anti-diagonal from the top-right corner and a yellow bottom row."""


def task(img):
    out = img.copy()
    n = img.shape[0]
    draw_line(out, (0, n - 1), (n - 2, 1), 2)
    draw_line(out, (n - 1, 1), (n - 1, n - 1), 4)
    return out
