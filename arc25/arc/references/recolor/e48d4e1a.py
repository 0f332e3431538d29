"""The cross shifts left and down by as many cells as there are grey cells, and the grey cells go."""


def task(img):
    n = color_count(img, 5)
    color = colors(img, exclude=(0, 5))[0]
    row = [r for r in range(img.shape[0]) if (img[r] == color).all()][0]
    col = [c for c in range(img.shape[1]) if (img[:, c] == color).all()][0]
    out = create_img(img.shape, 0)
    draw_horizontal_line(out, row + n, color)
    draw_vertical_line(out, col - n, color)
    return out
