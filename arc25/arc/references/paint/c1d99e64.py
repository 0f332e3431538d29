"""Rows and columns that are entirely background turn red."""


def task(img):
    out = img.copy()
    for r in range(img.shape[0]):
        if not img[r].any():
            draw_horizontal_line(out, r, 2)
    for c in range(img.shape[1]):
        if not img[:, c].any():
            draw_vertical_line(out, c, 2)
    return out
