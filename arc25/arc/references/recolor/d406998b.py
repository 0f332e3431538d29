"""Grey cells in every second column counted from the right turn green."""


def task(img):
    out = img.copy()
    flipped = out[:, ::-1][:, ::2]
    flipped[flipped == 5] = 3
    return out
