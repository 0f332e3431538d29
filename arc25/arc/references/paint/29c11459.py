"""The two end cells of a row grow towards each other and meet at a grey middle cell."""


def task(img):
    out = img.copy()
    for r in range(img.shape[0]):
        if img[r, 0] != 0:
            middle = img.shape[1] // 2
            out[r, :middle] = img[r, 0]
            out[r, middle + 1:] = img[r, -1]
            out[r, middle] = 5
    return out
