"""Three colours repeat along the anti-diagonals: the whole grid is filled with that diagonal pattern."""


def task(img):
    by_diagonal = {}
    for color in colors(img, exclude=(0,)):
        for r, c in cells_of(img, color):
            by_diagonal[(r + c) % 3] = color
    out = img.copy()
    for r in range(img.shape[0]):
        for c in range(img.shape[1]):
            out[r, c] = by_diagonal[(r + c) % 3]
    return out
