"""Mirror the grid into a 2x2 kaleidoscope: right half flipped left-right, bottom half flipped upside down."""


def task(img):
    top = concat(img, flip(img, "lr"), "right")
    return concat(top, flip(top, "ud"), "down")
