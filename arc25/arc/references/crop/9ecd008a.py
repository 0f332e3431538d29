"""The pattern is symmetric: crop what the black patch hides, read from a mirror image that shows it."""


def task(img):
    hidden = object_from_mask(img, img == 0)
    for view in (flip(img, "lr"), flip(img, "ud"), rotate(img, 2)):
        part = crop(view, *hidden.box)
        if color_count(part, 0) == 0:
            return part
