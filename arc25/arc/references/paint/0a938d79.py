"""Two cells start stripes across the short side; the stripes repeat, alternating colours, at their spacing."""


def task(img):
    tall = img.shape[0] > img.shape[1]
    grid = transpose(img) if tall else img.copy()
    marks = sorted([(c, color) for color in colors(grid, exclude=(0,)) for _, c in cells_of(grid, color)])
    (c1, a), (c2, b) = marks
    for k, c in enumerate(range(c1, grid.shape[1], c2 - c1)):
        draw_vertical_line(grid, c, a if k % 2 == 0 else b)
    return transpose(grid) if tall else grid
