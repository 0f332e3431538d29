"""The grid is one square repeated three times side by side: crop the square."""


def task(img):
    return img[:, :img.shape[0]]
