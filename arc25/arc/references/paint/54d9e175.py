"""Each panel's centre cell fills its 3x3 panel with the colour five above its own."""


def task(img):
    out = img.copy()
    for color in colors(img, exclude=(0, 5)):
        for r, c in cells_of(img, color):
            draw_rectangle(out, (r - 1, c - 1), (r + 1, c + 1), color + 5)
    return out
