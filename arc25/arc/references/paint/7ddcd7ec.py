"""The cells touching the block's corners send diagonal rays away from it."""


def task(img):
    out = img.copy()
    block = max(find_objects(img), key=lambda o: o.size)
    row, col = block.center
    for obj in find_objects(img):
        if obj.size == 1:
            (r, c) = obj.cells[0]
            direction = ("up" if r < row else "down") + "-" + ("left" if c < col else "right")
            draw_ray(out, (r, c), direction, obj.color)
    return out
