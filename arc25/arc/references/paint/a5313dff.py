"""Background enclosed by a red shape turns blue."""


def task(img):
    out = img.copy()
    for obj in find_objects(img, connectivity=8):
        fill(out, [p for p in holes(obj) if img[p] == 0], 1)
    return out
