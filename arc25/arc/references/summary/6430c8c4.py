"""Overlay the two panels above and below the yellow line: green where both are empty."""


def task(img):
    a, b = img[:4], img[5:]
    return fill(create_img(a.shape), (a == 0) & (b == 0), 3)
