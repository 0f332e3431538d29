"""Blue cells inside the azure patch's bounding box turn green."""


def task(img):
    out = img.copy()
    (top, left), (bottom, right) = object_from_mask(img, img == 8).box
    patch = out[top:bottom + 1, left:right + 1]
    patch[patch == 1] = 3
    return out
