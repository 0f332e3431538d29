"""Count the coloured cells and write them as one row in their colour."""


def task(img):
    color = colors(img, exclude=(0,))[0]
    return create_img((1, color_count(img, color)), color)
