"""Paint each quadrant of the azure pattern with the colour in the matching corner."""


def task(img):
    pattern = img[2:-2, 2:-2]
    key = create_img((2, 2))
    key[0, 0], key[0, 1], key[1, 0], key[1, 1] = img[0, 0], img[0, -1], img[-1, 0], img[-1, -1]
    out = upscale(key, pattern.shape[0] // 2)
    return fill(out, pattern == 0, 0)
