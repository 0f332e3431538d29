"""Cells in line with the big rectangle grow towards it until they reach it."""


def task(img):
    background = most_common_color(img)
    shapes = find_objects(img, background=background)
    block = max(shapes, key=lambda o: o.size)
    out = img.copy()
    for obj in shapes:
        (r, c) = obj.cells[0]
        if obj != block and block.top <= r <= block.bottom:
            draw_ray(out, (r, c), "right" if c < block.left else "left", obj.color, stop=block.color)
        if obj != block and block.left <= c <= block.right:
            draw_ray(out, (r, c), "down" if r < block.top else "up", obj.color, stop=block.color)
    return out
