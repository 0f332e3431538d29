"""Around the 2x2 block, each corner gets a 2x2 patch of the colour diagonally opposite it in the block."""


def task(img):
    out = img.copy()
    (t, l), (b, r) = find_objects(img, by_color=False)[0].box
    draw_rectangle(out, (t - 2, l - 2), (t - 1, l - 1), img[b, r])
    draw_rectangle(out, (t - 2, r + 1), (t - 1, r + 2), img[b, l])
    draw_rectangle(out, (b + 1, l - 2), (b + 2, l - 1), img[t, r])
    draw_rectangle(out, (b + 1, r + 1), (b + 2, r + 2), img[t, l])
    return out
