"""Stack the four quadrants: grey over magenta over maroon over yellow."""


def task(img):
    tl, tr, bl, br = split(img, 2, 2)
    out = tl.copy()
    for layer in (br, bl, tr):
        paste(out, layer, (0, 0), transparent=0)
    return out
