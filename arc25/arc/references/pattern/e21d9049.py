"""The short coloured sequences on a row and a column repeat along that whole row and column."""


def task(img):
    out = img.copy()
    row = [r for r in range(img.shape[0]) if (img[r] != 0).sum() > 1][0]
    col = [c for c in range(img.shape[1]) if (img[:, c] != 0).sum() > 1][0]
    cols = [c for c in range(img.shape[1]) if img[row, c] != 0]
    rows = [r for r in range(img.shape[0]) if img[r, col] != 0]
    for c in range(img.shape[1]):
        out[row, c] = img[row, cols[0] + (c - cols[0]) % len(cols)]
    for r in range(img.shape[0]):
        out[r, col] = img[rows[0] + (r - rows[0]) % len(rows), col]
    return out
