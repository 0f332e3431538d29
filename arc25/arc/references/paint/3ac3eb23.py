"""Each cell on the top row zigzags down: itself on even rows, its two diagonal neighbours on odd rows."""


def task(img):
    out = img.copy()
    for c in range(img.shape[1]):
        if img[0, c] != 0:
            for r in range(img.shape[0]):
                fill(out, [(r, c)] if r % 2 == 0 else [(r, c - 1), (r, c + 1)], img[0, c])
    return out
