"""Continue the horizontal repeating pattern to twice the width."""


def task(img):
    h, w = img.shape
    period = find_period(img)[1]
    unit = crop(img, (0, 0), (h - 1, period - 1))
    return tile(unit, 1, 2 * w // period + 1)[:, :2 * w]
