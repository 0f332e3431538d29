"""Every coloured cell falls to the bottom of its column, keeping the order of the column's cells."""


def task(img):
    out = create_img(img.shape, 0)
    for c in range(img.shape[1]):
        column = [v for v in img[:, c] if v != 0]
        for k, v in enumerate(column):
            out[img.shape[0] - len(column) + k, c] = v
    return out
