"""Crop the block picture and collapse each block to one cell."""


def collapse_rows(g):
    keep = [0] + [i for i in range(1, g.shape[0]) if (g[i] != g[i - 1]).any()]
    return g[keep]


def task(img):
    blocks = crop_to_content(img)
    return transpose(collapse_rows(transpose(collapse_rows(blocks))))
