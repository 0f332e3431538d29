"""Each blue cell gets red above, orange left, magenta right and azure below."""


def task(img):
    out = img.copy()
    for r, c in cells_of(img, 1):
        for (dr, dc), color in zip([(-1, 0), (0, -1), (0, 1), (1, 0)], [2, 7, 6, 8]):
            fill(out, [(r + dr, c + dc)], color)
    return out
