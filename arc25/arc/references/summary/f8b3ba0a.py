"""List the odd block colours, most frequent first, leaving out the dominant block colour."""


def task(img):
    odd = colors(img, exclude=(0, most_common_color(img, exclude=(0,))))
    odd = sorted(odd, key=lambda c: -color_count(img, c))
    out = create_img((len(odd), 1))
    for i, color in enumerate(odd):
        draw_pixel(out, (i, 0), color)
    return out
