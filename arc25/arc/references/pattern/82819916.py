"""Each unfinished row continues the full row's pattern, in its own colours."""


def task(img):
    template = [r for r in range(img.shape[0]) if img[r].all()][0]
    out = img.copy()
    for r in range(img.shape[0]):
        if img[r].any() and not img[r].all():
            mapping = {img[template, c]: img[r, c] for c in range(img.shape[1]) if img[r, c] != 0}
            out[r] = map_colors(img[template:template + 1], mapping)[0]
    return out
