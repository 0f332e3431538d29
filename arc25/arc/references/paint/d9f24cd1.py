"""Red cells on the bottom row grow upwards; a grey cell in the way makes the line step one column right."""


def task(img):
    out = img.copy()
    for r, c in cells_of(img, 2):
        for row in range(r - 1, -1, -1):
            if img[row, c] == 5:
                out[row + 1, c + 1] = 2
                c += 1
            out[row, c] = 2
    return out
