"""A symmetric mosaic (mirror rows, mirror columns, transpose) has maroon patches: they are restored from its mirror images."""


def task(img):
    out = img.copy()
    n = img.shape[0] + 1
    for _ in range(2):
        for r, c in cells_of(out, 9):
            for rr, cc in [(n - r, c), (r, n - c), (c, r), (n - r, n - c), (n - c, n - r)]:
                if rr < img.shape[0] and cc < img.shape[1] and out[rr, cc] != 9:
                    out[r, c] = out[rr, cc]
    return out
