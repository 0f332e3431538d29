"""Mirror the grid left-right."""


def task(img):
    return flip(img, "lr")
