"""The yellow lines cut equal panels: the one drawn panel is copied into every panel."""


def task(img):
    source = [p for p in split_by_lines(img) if p.any()][0]
    height, width = source.shape
    out = img.copy()
    for r in range(0, img.shape[0], height + 1):
        for c in range(0, img.shape[1], width + 1):
            paste(out, source, (r, c))
    return out
