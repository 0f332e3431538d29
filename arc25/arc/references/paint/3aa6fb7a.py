"""Each three-cell azure L gets its missing corner painted blue."""


def task(img):
    out = img.copy()
    for obj in find_objects(img):
        fill(out, [(r, c) for r in range(obj.top, obj.bottom + 1) for c in range(obj.left, obj.right + 1) if img[r, c] == 0], 1)
    return out
