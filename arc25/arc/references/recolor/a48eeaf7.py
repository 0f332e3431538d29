"""Each grey cell moves straight or diagonally towards the red square until it touches it."""


def task(img):
    square = [o for o in find_objects(img) if o.color == 2][0]
    out = replace_color(img, 5, 0)
    step = lambda x, low, high: (x < low) - (x > high)
    for obj in find_objects(img):
        if obj.color == 5:
            while not touches(obj, square, diagonal=True):
                r, c = obj.cells[0]
                obj = move(obj, step(r, square.top, square.bottom), step(c, square.left, square.right))
            draw_object(out, obj)
    return out
