"""From the azure cell grey stairs climb up-right and descend down-left, two cells per step."""


def task(img):
    out = img.copy()
    (r, c) = cells_of(img, 8)[0]
    for k in range(max(img.shape)):
        fill(out, [(r - 1 - 2 * k, c + 2 * k), (r - 2 - 2 * k, c + 2 * k), (r - 2 - 2 * k, c + 2 * k + 1), (r - 2 - 2 * k, c + 2 * k + 2)], 5)
        fill(out, [(r + 1 + 2 * k, c - 2 * k), (r + 2 + 2 * k, c - 2 * k), (r + 2 + 2 * k, c - 2 * k - 1), (r + 2 + 2 * k, c - 2 * k - 2)], 5)
    return out
