"""Inside the four-coloured frame, each cell moves to the side of its colour; cells of no side's colour go."""


def task(img):
    height, width = img.shape
    top, bottom, left, right = img[0, 1], img[-1, 1], img[1, 0], img[1, -1]
    out = img.copy()
    out[1:-1, 1:-1] = 0
    for color in colors(img[1:-1, 1:-1], exclude=(0,)):
        for r, c in cells_of(img[1:-1, 1:-1], color):
            if color in (top, bottom):
                out[1 if color == top else height - 2, c + 1] = color
            elif color in (left, right):
                out[r + 1, 1 if color == left else width - 2] = color
    return out
