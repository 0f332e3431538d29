"""Every red cell gets a blue ring around it (its eight neighbours)."""


def task(img):
    out = img.copy()
    for r, c in cells_of(img, 2):
        ring = [(r + dr, c + dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1)]
        fill(out, [p for p in ring if 0 <= p[0] < img.shape[0] and 0 <= p[1] < img.shape[1] and img[p] == 0], 1)
    return out
