"""The grey box fills with azure, which leaks out of the gap in its wall to the grid's edge."""


def task(img):
    out = img.copy()
    (top, left), (bottom, right) = find_objects(img)[0].box
    out[top + 1:bottom, left + 1:right] = 8
    for r in range(top, bottom + 1):
        for c in range(left, right + 1):
            if (r in (top, bottom) or c in (left, right)) and img[r, c] == 0:
                direction = "up" if r == top else "down" if r == bottom else "left" if c == left else "right"
                draw_pixel(out, (r, c), 8)
                draw_ray(out, (r, c), direction, 8)
    return out
