"""Each red outline is erased and the background it encloses turns green."""


def task(img):
    out = create_img(img.shape, 0)
    for obj in find_objects(img):
        fill(out, holes(obj), 3)
    return out
