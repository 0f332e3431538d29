"""Above the red bar a green staircase grows one cell per row; below it a blue one shrinks one cell per row."""


def task(img):
    out = img.copy()
    (r, _) = cells_of(img, 2)[0]
    n = color_count(img, 2)
    for k in range(1, r + 1):
        out[r - k, :n + k] = 3
    for k in range(1, n):
        out[r + k, :n - k] = 1
    return out
