"""The largest all-black rectangle at least two cells high and wide is painted magenta."""


def task(img):
    height, width = img.shape
    boxes = [(r1, c1, r2, c2) for r1 in range(height) for r2 in range(r1 + 1, height) for c1 in range(width)
             for c2 in range(c1 + 1, width) if not img[r1:r2 + 1, c1:c2 + 1].any()]
    r1, c1, r2, c2 = max(boxes, key=lambda b: (b[2] - b[0] + 1) * (b[3] - b[1] + 1))
    out = img.copy()
    draw_rectangle(out, (r1, c1), (r2, c2), 6)
    return out
