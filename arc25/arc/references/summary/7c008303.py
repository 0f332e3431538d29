"""Colour the pattern panel quadrant by quadrant with the 2x2 key panel's colours."""


def task(img):
    panels = sorted(split_by_lines(img), key=lambda p: p.size)
    key, pattern = panels[0], panels[-1]
    out = upscale(key, pattern.shape[0] // 2)
    return fill(out, pattern == 0, 0)
