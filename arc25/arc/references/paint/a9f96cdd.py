"""The red cell goes and its four diagonal neighbours turn green, magenta, azure and orange."""


def task(img):
    out = create_img(img.shape, 0)
    (r, c) = cells_of(img, 2)[0]
    for (dr, dc), color in zip([(-1, -1), (-1, 1), (1, -1), (1, 1)], [3, 6, 8, 7]):
        fill(out, [(r + dr, c + dc)], color)
    return out
