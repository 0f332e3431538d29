"""Mirror the grid upside down."""


def task(img):
    return flip(img, "ud")
