"""Each red cell gets yellow diagonal neighbours, each blue cell orange orthogonal neighbours."""


def task(img):
    out = img.copy()
    for r, c in cells_of(img, 2):
        fill(out, [(r - 1, c - 1), (r - 1, c + 1), (r + 1, c - 1), (r + 1, c + 1)], 4)
    for r, c in cells_of(img, 1):
        fill(out, [(r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)], 7)
    return out
