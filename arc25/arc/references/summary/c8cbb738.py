"""Centre the corner-point shapes of every colour on one square canvas of the background colour."""


def task(img):
    bg = most_common_color(img)
    shapes = [object_from_mask(img, img == c) for c in colors(img, exclude=(bg,))]
    n = max(max(s.height, s.width) for s in shapes)
    out = create_img((n, n), bg)
    for s in shapes:
        paste(out, s.sprite(background=bg), ((n - s.height) // 2, (n - s.width) // 2), transparent=bg)
    return out
