"""Continue the zigzag downward by mirroring the rows back and forth."""


def task(img):
    wave = concat(img, flip(img, "ud")[1:], "down")
    return concat(wave, wave[1:], "down")
