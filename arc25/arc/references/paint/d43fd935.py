"""Cells in line with the green block grow towards it until they reach it."""


def task(img):
    out = img.copy()
    block = [o for o in find_objects(img) if o.color == 3 and o.size == 4][0]
    for obj in find_objects(img):
        if obj.color == 3:
            continue
        (r, c) = obj.cells[0]
        if block.top <= r <= block.bottom:
            draw_ray(out, (r, c), "right" if c < block.left else "left", obj.color, stop=3)
        if block.left <= c <= block.right:
            draw_ray(out, (r, c), "down" if r < block.top else "up", obj.color, stop=3)
    return out
