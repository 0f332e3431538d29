"""Name the shape of the 3x3 pattern with a colour: ring 1, X 2, corner 3, plus 6."""


def task(img):
    if img[1, 1] == 0:
        return create_img((1, 1), 1)
    if img[0, 0] != 0:
        return create_img((1, 1), 2)
    return create_img((1, 1), 6 if img[1, 0] != 0 else 3)
