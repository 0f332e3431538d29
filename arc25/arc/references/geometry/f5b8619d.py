"""Fill empty cells of every column holding a colour with azure, then tile the grid 2x2."""


def task(img):
    columns = (img != 0).sum(axis=0) > 0
    out = fill(img.copy(), (img == 0) & columns, 8)
    return tile(out, 2, 2)
