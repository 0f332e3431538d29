"""The colours of the concentric rings are reversed, outermost to innermost."""


def task(img):
    height, width = img.shape
    ring = lambda r, c: min(r, c, height - 1 - r, width - 1 - c)
    n = (min(height, width) + 1) // 2
    out = img.copy()
    for r in range(height):
        for c in range(width):
            out[r, c] = img[n - 1 - ring(r, c), n - 1 - ring(r, c)]
    return out
