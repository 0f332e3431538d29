"""Below the grey rule, rows take the top row's colours one by one, repeating."""


def task(img):
    out = img.copy()
    for r in range(2, img.shape[0]):
        draw_horizontal_line(out, r, img[0, (r - 2) % img.shape[1]])
    return out
