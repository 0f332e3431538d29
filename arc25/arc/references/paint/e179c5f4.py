"""From the bottom-left cell a blue line climbs, bouncing between the left and right edges, over an azure background."""


def task(img):
    height, width = img.shape
    out = create_img(img.shape, 8)
    period = 2 * (width - 1)
    for k in range(height):
        step = k % period
        out[height - 1 - k, step if step < width else period - step] = 1
    return out
