"""Transpose the grid (mirror it along the main diagonal)."""


def task(img):
    return transpose(img)
