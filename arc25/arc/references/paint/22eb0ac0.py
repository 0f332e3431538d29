"""A row whose two end cells share a colour is filled with that colour."""


def task(img):
    out = img.copy()
    for r in range(img.shape[0]):
        if img[r, 0] != 0 and img[r, 0] == img[r, -1]:
            draw_horizontal_line(out, r, img[r, 0])
    return out
