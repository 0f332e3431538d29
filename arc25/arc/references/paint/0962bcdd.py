"""Each small cross grows: its arms reach two cells out and its centre colour spreads along both diagonals."""


def task(img):
    out = img.copy()
    for cross in find_objects(img, by_color=False):
        r, c = int(cross.center[0]), int(cross.center[1])
        arm, middle = img[r - 1, c], img[r, c]
        draw_line(out, (r - 2, c - 2), (r + 2, c + 2), middle)
        draw_line(out, (r - 2, c + 2), (r + 2, c - 2), middle)
        draw_line(out, (r - 2, c), (r + 2, c), arm)
        draw_line(out, (r, c - 2), (r, c + 2), arm)
        draw_pixel(out, (r, c), middle)
    return out
