"""The grid is a pattern shown twice: crop the first copy, halving the longer side."""


def task(img):
    h, w = img.shape
    return img[:h // 2] if h > w else img[:, :w // 2]
