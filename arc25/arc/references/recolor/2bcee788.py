"""The shape is mirrored across the side where its marker sits; the marker goes and the background turns green."""


def task(img):
    marker_color = least_common_color(img, exclude=(0,))
    marker = object_from_mask(img, img == marker_color)
    shape = object_from_mask(img, (img != 0) & (img != marker_color))
    if marker.left > shape.right:
        mirrored = [(r, 2 * shape.right + 1 - c) for r, c in shape.cells]
    elif marker.right < shape.left:
        mirrored = [(r, 2 * shape.left - 1 - c) for r, c in shape.cells]
    elif marker.top > shape.bottom:
        mirrored = [(2 * shape.bottom + 1 - r, c) for r, c in shape.cells]
    else:
        mirrored = [(2 * shape.top - 1 - r, c) for r, c in shape.cells]
    out = create_img(img.shape, 3)
    draw_object(out, shape)
    fill(out, mirrored, shape.color)
    return out
