"""Each grey cell becomes a ring: grey corners, blue edges, an empty centre."""


def task(img):
    out = create_img(img.shape, 0)
    for r, c in cells_of(img, 5):
        fill(out, [(r - 1, c - 1), (r - 1, c + 1), (r + 1, c - 1), (r + 1, c + 1)], 5)
        fill(out, [(r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)], 1)
    return out
