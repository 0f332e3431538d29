"""Two azure rows and two azure columns cut nine panels: the middle ones are painted red, yellow, magenta, green and blue."""


def task(img):
    out = img.copy()
    r1, r2 = [r for r in range(img.shape[0]) if (img[r] == 8).all()]
    c1, c2 = [c for c in range(img.shape[1]) if (img[:, c] == 8).all()]
    out[:r1, c1 + 1:c2] = 2
    out[r1 + 1:r2, :c1] = 4
    out[r1 + 1:r2, c1 + 1:c2] = 6
    out[r1 + 1:r2, c2 + 1:] = 3
    out[r2 + 1:, c1 + 1:c2] = 1
    return out
