"""The azure shape is mirrored to the side the yellow shape's top cell leans to."""


def task(img):
    azure, yellow = object_from_mask(img, img == 8), object_from_mask(img, img == 4)
    leans_left = yellow.cells[0][1] == yellow.left
    out = img.copy()
    fill(out, [(r, 2 * azure.left - 1 - c if leans_left else 2 * azure.right + 1 - c) for r, c in azure.cells], 8)
    return out
