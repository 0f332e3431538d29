"""Blow the grid up into copies of itself: a copy where the small grid holds its most common colour."""


def task(img):
    h, w = img.shape
    key = most_common_color(img)
    out = create_img((h * h, w * w))
    for r in range(h):
        for c in range(w):
            if img[r, c] == key:
                paste(out, img, (r * h, c * w))
    return out
