"""Noise cells of the rarer colour are removed: inside a shape they take its colour, elsewhere they go."""


def task(img):
    noise = least_common_color(img, exclude=(0,))
    shape = colors(img, exclude=(0, noise))[0]
    padded = pad(img, 1, 0)
    out = img.copy()
    for r, c in cells_of(img, noise):
        around = [padded[r, c + 1], padded[r + 2, c + 1], padded[r + 1, c], padded[r + 1, c + 2]]
        out[r, c] = shape if sum(v == shape for v in around) >= 2 else 0
    return out
