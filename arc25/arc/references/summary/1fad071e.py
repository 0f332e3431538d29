"""Count the blue 2x2 squares and write that many blue cells into a 1x5 row."""


def task(img):
    n = len([o for o in find_objects(img) if o.color == 1 and o.size == 4])
    return fill(create_img((1, 5)), [(0, i) for i in range(n)], 1)
