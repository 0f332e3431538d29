"""Overlay the four 3x3 corners of the grid."""


def task(img):
    out = img[:3, :3].copy()
    for layer in (img[:3, 4:], img[2:, :3], img[2:, 4:]):
        paste(out, layer, (0, 0), transparent=0)
    return out
