"""The rings cycle through their colours: each ring takes the colour of the ring one step further out, in the cycle of the colours."""


def task(img):
    m = len(colors(img))
    out = img.copy()
    for k in range(img.shape[0] // 2):
        draw_border(out, (k, k), (img.shape[0] - 1 - k, img.shape[1] - 1 - k), img[(k - 1) % m, (k - 1) % m])
    return out
