"""Each row is filled by where its grey cell is: left red, middle yellow, right green."""


def task(img):
    out = img.copy()
    for r in range(img.shape[0]):
        out[r] = {0: 2, 1: 4, 2: 3}[cells_of(img[r:r + 1], 5)[0][1]]
    return out
