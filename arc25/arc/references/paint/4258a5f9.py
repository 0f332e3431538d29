"""Every grey cell gets a blue ring around it (its eight neighbours)."""


def task(img):
    out = img.copy()
    for obj in find_objects(img):
        fill(out, outline(obj, diagonal=True), 1)
    return out
