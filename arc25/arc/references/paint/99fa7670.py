"""Each cell draws a ray to the right edge, then down the edge until the next cell's row."""


def task(img):
    out = img.copy()
    cells = sorted([p for color in colors(img, exclude=(0,)) for p in cells_of(img, color)])
    last = img.shape[1] - 1
    for i, (r, c) in enumerate(cells):
        end = cells[i + 1][0] - 1 if i + 1 < len(cells) else img.shape[0] - 1
        draw_line(out, (r, c), (r, last), img[r, c])
        draw_line(out, (r, last), (end, last), img[r, c])
    return out
