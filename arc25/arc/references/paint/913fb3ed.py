"""Each cell gets a ring by its colour: green a magenta ring, azure a yellow one, red a blue one."""


def task(img):
    out = img.copy()
    for obj in find_objects(img):
        fill(out, outline(obj, diagonal=True), {3: 6, 8: 4, 2: 1}[obj.color])
    return out
