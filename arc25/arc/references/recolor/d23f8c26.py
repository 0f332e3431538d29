"""Everything but the middle column is erased."""


def task(img):
    out = create_img(img.shape, 0)
    middle = img.shape[1] // 2
    out[:, middle] = img[:, middle]
    return out
