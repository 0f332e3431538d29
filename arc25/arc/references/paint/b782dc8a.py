"""From the two-coloured seed, the background paths of the azure maze are flooded with the two colours alternating."""


def task(img):
    a, b = colors(img, exclude=(0, 8))
    height, width = img.shape
    out = img.copy()
    frontier = cells_of(img, a) + cells_of(img, b)
    while frontier:
        reached = []
        for r, c in frontier:
            for p in [(r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)]:
                if 0 <= p[0] < height and 0 <= p[1] < width and out[p] == 0:
                    out[p] = a + b - out[r, c]
                    reached.append(p)
        frontier = reached
    return out
