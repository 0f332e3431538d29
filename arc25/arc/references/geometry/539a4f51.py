"""Extend the nested corner bands of the coloured block, repeating them over a doubled grid."""


def task(img):
    k = crop_to_content(img).shape[0]
    n = 2 * img.shape[0]
    out = create_img((n, n))
    for r in range(n):
        for c in range(n):
            out[r, c] = img[max(r, c) % k, max(r, c) % k]
    return out
