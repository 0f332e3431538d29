"""Each of the two cells draws a frame over its half of the grid: the half's outer edges and a full line through itself."""


def task(img):
    (top_row, _), (bottom_row, _) = sorted(p for color in colors(img, exclude=(0,)) for p in cells_of(img, color))
    a, b = img[top_row].max(), img[bottom_row].max()
    half = img.shape[0] // 2
    out = create_img(img.shape, 0)
    out[:half, 0], out[:half, -1], out[0], out[top_row] = a, a, a, a
    out[half:, 0], out[half:, -1], out[-1], out[bottom_row] = b, b, b, b
    return out
