"""Answer azure when an azure path joins the two red squares, black otherwise."""


def task(img):
    red = color_count(img, 2)
    for obj in find_objects(img, by_color=False, connectivity=8):
        if obj.colors.count(2) == red:
            return create_img((1, 1), 8)
    return create_img((1, 1), 0)
