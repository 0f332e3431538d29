"""Of the four 2x2 corner panels, crop the one that differs from the other three."""


def task(img):
    panels = [img[:2, :2], img[:2, 3:], img[3:, :2], img[3:, 3:]]
    return unique_by(panels, lambda p: p.tobytes())
