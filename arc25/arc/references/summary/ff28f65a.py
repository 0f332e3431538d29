"""Count the red squares and tally them as blue cells on the X positions of a 3x3 grid."""


def task(img):
    n = len(find_objects(img))
    order = [(0, 0), (0, 2), (1, 1), (2, 0), (2, 2)]
    return fill(create_img((3, 3)), order[:n], 1)
