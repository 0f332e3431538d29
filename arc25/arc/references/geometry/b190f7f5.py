"""Draw the azure stencil once per coloured cell of the other half, in that cell's colour and place."""


def task(img):
    h, w = img.shape
    a, b = (img[:, :w // 2], img[:, w // 2:]) if w > h else (img[:h // 2], img[h // 2:])
    stencil, pattern = (a, b) if 8 in a else (b, a)
    n = stencil.shape[0]
    out = create_img((n * n, n * n))
    for r in range(n):
        for c in range(n):
            if pattern[r, c] != 0:
                paste(out, replace_color(stencil, 8, pattern[r, c]), (r * n, c * n))
    return out
