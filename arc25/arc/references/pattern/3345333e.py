"""A solid block hides part of a left-right symmetric shape: the block goes and the shape is restored by mirroring."""


def task(img):
    block = [c for c in colors(img, exclude=(0,)) if object_from_mask(img, img == c).is_rectangle][0]
    shape = object_from_mask(img, (img != 0) & (img != block))
    width = img.shape[1]

    def fit(axis):
        mirrored = [(r, axis - c) for r, c in shape.cells]
        inside = all(0 <= c < width and img[r, c] in (shape.color, block) for r, c in mirrored)
        return inside, sum(img[r, c] == shape.color for r, c in mirrored if 0 <= c < width)

    axis = max(range(2 * width), key=fit)
    out = create_img(img.shape, 0)
    draw_object(out, shape)
    fill(out, [(r, axis - c) for r, c in shape.cells], shape.color)
    return out
