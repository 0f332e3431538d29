"""Under each 2x2 block hangs a green block as tall as the number of colours in it."""


def task(img):
    out = img.copy()
    for block in find_objects(img, by_color=False):
        n = len(colors(block.sprite(), exclude=(0,)))
        draw_rectangle(out, (block.bottom + 1, block.left), (block.bottom + n, block.right), 3)
    return out
