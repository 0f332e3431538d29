"""Tile the grid 2x2, then put azure on the empty diagonal neighbours of every coloured cell."""


def task(img):
    out = tile(img, 2, 2)
    for obj in find_objects(out):
        for r, c in obj.cells:
            for dr, dc in ((-1, -1), (-1, 1), (1, -1), (1, 1)):
                if 0 <= r + dr < out.shape[0] and 0 <= c + dc < out.shape[1] and out[r + dr, c + dc] == 0:
                    out[r + dr, c + dc] = 8
    return out
