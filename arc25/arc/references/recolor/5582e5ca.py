"""The whole grid takes its most common colour."""


def task(img):
    return create_img(img.shape, most_common_color(img))
