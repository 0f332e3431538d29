"""The blue figure has four-fold rotational symmetry with one quarter missing: the missing cells are painted red."""


def task(img):
    figure = object_from_mask(img, img == 1)
    row = (figure.top + figure.bottom) / 2
    col = figure.right - (figure.bottom - figure.top) / 2
    out = img.copy()
    for r, c in figure.cells:
        turned = [(int(row + c - col), int(col - r + row)), (int(2 * row - r), int(2 * col - c)), (int(row - c + col), int(col + r - row))]
        fill(out, [p for p in turned if img[p] == 0], 2)
    return out
