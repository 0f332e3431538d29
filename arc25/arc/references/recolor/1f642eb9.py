"""Each outside cell marks the edge cell of the azure block nearest to it with its colour."""


def task(img):
    block = object_from_mask(img, img == 8)
    out = img.copy()
    for color in colors(img, exclude=(0, 8)):
        for r, c in cells_of(img, color):
            out[min(max(r, block.top), block.bottom), min(max(c, block.left), block.right)] = color
    return out
