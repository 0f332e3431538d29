"""A green plus is drawn halfway between the two blue cells."""


def task(img):
    out = img.copy()
    (r1, c1), (r2, c2) = cells_of(img, 1)
    r, c = (r1 + r2) // 2, (c1 + c2) // 2
    fill(out, [(r, c), (r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)], 3)
    return out
