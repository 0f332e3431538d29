"""The red frame moves two cells along the line of green dots it sits on."""


def task(img):
    frame = [o for o in find_objects(img) if o.color == 2][0]
    greens = cells_of(img, 3)
    across = greens[0][0] == greens[-1][0]
    out = img.copy()
    erase_object(out, frame)
    draw_object(out, move(frame, 0, 2) if across else move(frame, 2, 0))
    return out
