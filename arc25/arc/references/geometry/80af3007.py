"""The blocks form a 3x3 shape: draw the shape made of copies of itself."""


def task(img):
    shape = downscale(crop_to_content(img), 3)
    out = create_img((9, 9))
    for r in range(3):
        for c in range(3):
            if shape[r, c] != 0:
                paste(out, shape, (3 * r, 3 * c))
    return out
