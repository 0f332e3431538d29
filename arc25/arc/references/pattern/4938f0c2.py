"""The red shape is mirrored across both axes through the green 2x2 block, making four copies."""


def task(img):
    row, col = object_from_mask(img, img == 3).center
    out = img.copy()
    for r, c in cells_of(img, 2):
        mirrors = [(int(2 * row - r), c), (r, int(2 * col - c)), (int(2 * row - r), int(2 * col - c))]
        fill(out, mirrors, 2)
    return out
