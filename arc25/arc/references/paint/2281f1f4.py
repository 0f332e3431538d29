"""Grey marks on the top row and the right column: every crossing of a marked column and a marked row turns red."""


def task(img):
    out = img.copy()
    width = img.shape[1]
    for r, _ in cells_of(img[:, width - 1:], 5):
        for _, c in cells_of(img[:1, :width - 1], 5):
            draw_pixel(out, (r, c), 2)
    return out
