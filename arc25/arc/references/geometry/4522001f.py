"""Draw two green 4x4 squares down the diagonal that the green corner points along, on a 9x9 grid."""


def task(img):
    out = create_img((9, 9))
    draw_rectangle(out, (0, 0), (3, 3), 3)
    draw_rectangle(out, (4, 4), (7, 7), 3)
    for k in range(4):
        if rotate(img, k)[0, 0] == 3:
            return rotate(out, (4 - k) % 4)
