"""The two one-colour rows interleave: every second cell of each row takes the other row's colour."""


def task(img):
    out = img.copy()
    out[0, 1::2] = img[1, 0]
    out[1, 1::2] = img[0, 0]
    return out
