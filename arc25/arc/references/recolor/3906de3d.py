"""The red cells of each column rise, as one bar, until they meet the blue shape."""


def task(img):
    out = img.copy()
    out[img == 2] = 0
    for c in range(img.shape[1]):
        n = color_count(img[:, c:c + 1], 2)
        top = max([r + 1 for r, _ in cells_of(img[:, c:c + 1], 1)] + [0])
        out[top:top + n, c] = 2
    return out
