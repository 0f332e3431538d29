"""An azure bridge joins the two rectangles, one cell narrower than the narrower of them on each side."""


def task(img):
    a, b = sorted(find_objects(img), key=lambda o: (o.top, o.left))
    out = img.copy()
    if a.bottom < b.top:
        draw_rectangle(out, (a.bottom + 1, max(a.left, b.left) + 1), (b.top - 1, min(a.right, b.right) - 1), 8)
    else:
        a, b = sorted([a, b], key=lambda o: o.left)
        draw_rectangle(out, (max(a.top, b.top) + 1, a.right + 1), (min(a.bottom, b.bottom) - 1, b.left - 1), 8)
    return out
