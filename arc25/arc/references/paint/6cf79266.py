"""All-black 3x3 windows in the noise are painted blue, in reading order, none overlapping another."""


def task(img):
    out = img.copy()
    for r in range(img.shape[0] - 2):
        for c in range(img.shape[1] - 2):
            if not out[r:r + 3, c:c + 3].any():
                out[r:r + 3, c:c + 3] = 1
    return out
