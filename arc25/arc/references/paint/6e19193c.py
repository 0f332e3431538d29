"""Each three-cell L sends a diagonal ray out of its missing corner."""


def task(img):
    out = img.copy()
    for obj in find_objects(img, connectivity=8):
        (t, l), (b, r) = obj.box
        missing = [(row, col) for row in (t, b) for col in (l, r) if img[row, col] == 0][0]
        direction = ("up" if missing[0] == t else "down") + "-" + ("left" if missing[1] == l else "right")
        draw_ray(out, missing, direction, obj.color)
    return out
