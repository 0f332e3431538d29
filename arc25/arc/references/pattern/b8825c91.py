"""A mosaic symmetric under both flips has yellow patches: each is restored from its mirror images."""


def task(img):
    out = img.copy()
    for mirror in (flip(img, "lr"), flip(img, "ud"), rotate(img, 2)):
        patch = (out == 4) & (mirror != 4)
        out[patch] = mirror[patch]
    return out
