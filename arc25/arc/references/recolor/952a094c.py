"""The four cells inside the frame's corners move outside it, each to the outer corner diagonally opposite."""


def task(img):
    (t, l), (b, r) = max(find_objects(img), key=lambda o: o.size).box
    out = img.copy()
    out[t + 1:b, l + 1:r] = 0
    out[t - 1, l - 1], out[t - 1, r + 1] = img[b - 1, r - 1], img[b - 1, l + 1]
    out[b + 1, l - 1], out[b + 1, r + 1] = img[t + 1, r - 1], img[t + 1, l + 1]
    return out
