"""Count the shapes and draw that many azure cells down the diagonal of a square."""


def task(img):
    n = len(find_objects(img, connectivity=8))
    return draw_line(create_img((n, n)), (0, 0), (n - 1, n - 1), 8)
