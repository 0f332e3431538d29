"""Each magenta shape on azure gets a green ring around it, and its enclosed cells turn yellow."""


def task(img):
    out = img.copy()
    for obj in find_objects(img, background=8):
        fill(out, outline(obj, diagonal=True), 3)
        fill(out, holes(obj), 4)
    return out
