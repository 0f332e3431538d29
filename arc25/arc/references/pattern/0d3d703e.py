"""A fixed colour map: 1<->5, 2<->6, 3<->4, 8<->9."""


def task(img):
    return map_colors(img, {1: 5, 5: 1, 2: 6, 6: 2, 3: 4, 4: 3, 8: 9, 9: 8})
