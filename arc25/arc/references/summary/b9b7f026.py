"""Answer with the colour of the one rectangle that has a hole."""


def task(img):
    rect = unique_by(find_objects(img), lambda o: len(holes(o)) > 0)
    return create_img((1, 1), rect.color)
