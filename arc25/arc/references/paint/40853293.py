"""Each pair of same-coloured cells is joined by a line; vertical lines cross over horizontal ones."""


def task(img):
    out = img.copy()
    pairs = [cells_of(img, color) for color in colors(img, exclude=(0,))]
    for a, b in sorted(pairs, key=lambda pair: pair[0][1] == pair[1][1]):
        draw_line(out, a, b, img[a])
    return out
