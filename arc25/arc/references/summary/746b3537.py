"""Collapse runs of repeated rows and of repeated columns to one each."""


def collapse_rows(g):
    keep = [0] + [i for i in range(1, g.shape[0]) if (g[i] != g[i - 1]).any()]
    return g[keep]


def task(img):
    return transpose(collapse_rows(transpose(collapse_rows(img))))
