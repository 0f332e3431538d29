"""Blow the grid up into copies of itself: a copy where the small grid holds red."""


def task(img):
    h, w = img.shape
    out = create_img((h * h, w * w))
    for r in range(h):
        for c in range(w):
            if img[r, c] == 2:
                paste(out, img, (r * h, c * w))
    return out
