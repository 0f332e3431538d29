"""The bars are stacked at the bottom right, longest lowest, shortest on top."""


def task(img):
    height, width = img.shape
    out = create_img(img.shape, 0)
    for k, bar in enumerate(sorted(find_objects(img), key=lambda o: -o.size)):
        out[height - 1 - k, width - bar.size:] = bar.color
    return out
