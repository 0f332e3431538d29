"""Each maroon square (some cut by the edge) gets a green frame half its side thick and a blue trail down to the bottom."""


def task(img):
    out = img.copy()
    squares = find_objects(img)
    for s in squares:
        draw_rectangle(out, (s.bottom + 1, s.left), (img.shape[0] - 1, s.right), 1)
    for s in squares:
        side = max(s.height, s.width)
        top = s.bottom - side + 1 if s.top == 0 else s.top
        left = s.right - side + 1 if s.left == 0 else s.left
        k = side // 2
        draw_rectangle(out, (top - k, left - k), (top + side - 1 + k, left + side - 1 + k), 3)
    out[img == 9] = 9
    return out
