"""Yellow cells in every third column (from the first) turn magenta."""


def task(img):
    out = img.copy()
    third = out[:, ::3]
    third[third == 4] = 6
    return out
