"""Count the empty rows left in the grey vessel and write as many azure cells, snaking through a 3x3 grid."""


def task(img):
    n = len([row for row in img if 5 in row and 8 not in row]) - 1
    order = [(0, 0), (0, 1), (0, 2), (1, 2), (1, 1), (1, 0), (2, 0), (2, 1), (2, 2)]
    return fill(create_img((3, 3)), order[:n], 8)
