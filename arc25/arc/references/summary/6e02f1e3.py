"""The number of colours picks a grey line: one colour the top row, two the main diagonal, three the anti-diagonal."""


def task(img):
    n = len(colors(img))
    out = create_img(img.shape, 0)
    last = img.shape[0] - 1
    if n == 1:
        draw_horizontal_line(out, 0, 5)
    else:
        draw_line(out, (0, 0) if n == 2 else (0, last), (last, last) if n == 2 else (last, 0), 5)
    return out
