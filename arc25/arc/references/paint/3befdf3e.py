"""Each framed square swaps its frame and core colours and grows arms of the frame colour as wide as its core."""


def task(img):
    out = img.copy()
    for square in find_objects(img, by_color=False):
        (t, l), (b, r) = square.box
        k = b - t - 1
        frame, core = img[t, l], img[t + 1, l + 1]
        draw_rectangle(out, (t - k, l), (b + k, r), frame)
        draw_rectangle(out, (t, l - k), (b, r + k), frame)
        out[t:b + 1, l:r + 1] = swap_colors(img[t:b + 1, l:r + 1], frame, core)
    return out
