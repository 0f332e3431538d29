"""The red shape slides towards the azure square until they touch."""


def task(img):
    red, square = [[o for o in find_objects(img, connectivity=8) if o.color == c][0] for c in (2, 8)]
    if square.left > red.right:
        direction = "right"
    elif square.right < red.left:
        direction = "left"
    else:
        direction = "down" if square.top > red.bottom else "up"
    out = img.copy()
    erase_object(out, red)
    draw_object(out, move_until_contact(red, direction, img))
    return out
