"""Each grey rectangle is repainted: blue corners, yellow edges, red inside."""


def task(img):
    out = img.copy()
    for obj in find_objects(img):
        (t, l), (b, r) = obj.box
        draw_rectangle(out, (t, l), (b, r), 2)
        draw_border(out, (t, l), (b, r), 4)
        fill(out, [(t, l), (t, r), (b, l), (b, r)], 1)
    return out
