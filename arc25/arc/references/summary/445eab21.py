"""Answer a 2x2 square in the colour of the largest frame."""


def task(img):
    frame = max(find_objects(img), key=lambda o: o.height * o.width)
    return create_img((2, 2), frame.color)
