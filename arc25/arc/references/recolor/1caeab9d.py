"""The cells of each colour move up or down together until their top row lines up with the blue cells'."""


def task(img):
    blue = object_from_mask(img, img == 1)
    out = create_img(img.shape, 0)
    for color in colors(img, exclude=(0,)):
        obj = object_from_mask(img, img == color)
        draw_object(out, move(obj, blue.top - obj.top, 0))
    return out
