"""Continue the pattern down to a 10-row grid, repeating its rows with the same step sideways."""


def task(img):
    h, w = img.shape
    out = paste(create_img((10, w)), img, (0, 0))
    for p in range(1, h):
        for s in range(w):
            if (img[p:, s:] == img[:-p, :w - s]).all() and (img[p:, :s] == 0).all():
                for r in range(h, 10):
                    out[r, s:] = out[r - p, :w - s]
                return out
