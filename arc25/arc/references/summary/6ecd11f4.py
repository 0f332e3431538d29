"""Keep the cells of the small colour square where the big block shape is filled."""


def task(img):
    objs = find_objects(img, by_color=False, connectivity=8)
    key = [o for o in objs if len(colors(o.sprite(), exclude=(0,))) > 1][0]
    square = crop(img, *key.box)
    shape = crop_to_content(erase_object(img.copy(), key))
    mask = downscale(shape, shape.shape[0] // square.shape[0])
    return fill(square, mask == 0, 0)
