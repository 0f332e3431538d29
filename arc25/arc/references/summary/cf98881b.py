"""Stack the three panels between the red lines: yellow over maroon over blue."""


def task(img):
    out = img[:, 10:].copy()
    for layer in (img[:, 5:9], img[:, :4]):
        paste(out, layer, (0, 0), transparent=0)
    return out
