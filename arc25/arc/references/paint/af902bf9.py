"""Four yellow cells mark the corners of a box: its inside turns red."""


def task(img):
    out = img.copy()
    corners = cells_of(img, 4)
    for a in corners:
        for b in corners:
            if a[0] < b[0] and a[1] < b[1] and (a[0], b[1]) in corners and (b[0], a[1]) in corners:
                draw_rectangle(out, (a[0] + 1, a[1] + 1), (b[0] - 1, b[1] - 1), 2)
    return out
