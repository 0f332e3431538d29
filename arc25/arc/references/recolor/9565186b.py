"""Every cell not of the most common colour turns grey."""


def task(img):
    out = img.copy()
    out[img != most_common_color(img)] = 5
    return out
