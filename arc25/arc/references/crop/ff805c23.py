"""The pattern is symmetric: crop what the blue patch hides, read from a mirror image that shows it."""


def task(img):
    hidden = object_from_mask(img, img == 1)
    for view in (flip(img, "lr"), flip(img, "ud"), rotate(img, 2)):
        part = crop(view, *hidden.box)
        if color_count(part, 1) == 0:
            return part
