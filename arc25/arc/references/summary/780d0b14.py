"""Name each panel between the black lines by its main colour, in the panels' layout."""


def task(img):
    h, w = img.shape
    rows = len([r for r in range(h) if (img[r] == 0).all()]) + 1
    cols = len([c for c in range(w) if (img[:, c] == 0).all()]) + 1
    out = create_img((rows, cols))
    for i, panel in enumerate(split_by_lines(img)):
        out[i // cols, i % cols] = most_common_color(panel, exclude=(0,))
    return out
