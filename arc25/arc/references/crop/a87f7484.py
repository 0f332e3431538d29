"""Of the square panels in a row, crop the one whose pattern differs from the rest."""


def task(img):
    h, w = img.shape
    panels = split(img, h // w, 1) if h > w else split(img, 1, w // h)
    return unique_by(panels, lambda p: (p != 0).tobytes())
