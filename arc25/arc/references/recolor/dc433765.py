"""The green cell takes one step (diagonal if needed) towards the yellow cell."""


def task(img):
    (gr, gc), (yr, yc) = cells_of(img, 3)[0], cells_of(img, 4)[0]
    out = img.copy()
    out[gr, gc] = 0
    step = lambda a, b: (b > a) - (b < a)
    out[gr + step(gr, yr), gc + step(gc, yc)] = 3
    return out
