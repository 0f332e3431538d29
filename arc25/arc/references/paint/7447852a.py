"""Along the red zigzag, every third background pocket (from the left) is painted yellow."""


def task(img):
    out = img.copy()
    pockets = sorted(find_objects(img, background=2), key=lambda o: o.left)
    for pocket in pockets[::3]:
        draw_object(out, pocket, 4)
    return out
