"""Crop the box of the four lines; dots of one line's colour drop onto that line, leaving a trail."""


def task(img):
    h, w = img.shape
    rows = [r for r in range(h) if (img[r] != 0).sum() > w // 2]
    cols = [c for c in range(w) if (img[:, c] != 0).sum() > h // 2]
    part = crop(img, (rows[0], cols[0]), (rows[-1], cols[-1]))
    dot = most_common_color(part[1:-1, 1:-1], exclude=(0,))
    toward = {part[0, 1]: "up", part[-1, 1]: "down", part[1, 0]: "left", part[1, -1]: "right"}[dot]
    for r, c in cells_of(part, dot):
        if 0 < r < part.shape[0] - 1 and 0 < c < part.shape[1] - 1:
            draw_ray(part, (r, c), toward, dot, stop=dot)
    return part
