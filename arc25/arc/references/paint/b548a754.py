"""The framed box stretches until it reaches the azure marker, which it covers."""


def task(img):
    box = find_objects(img, by_color=False)
    frame, marker = [b for b in box if b.size > 1][0], [b for b in box if b.size == 1][0]
    top, left = min(frame.top, marker.top), min(frame.left, marker.left)
    bottom, right = max(frame.bottom, marker.bottom), max(frame.right, marker.right)
    out = create_img(img.shape, 0)
    draw_rectangle(out, (top, left), (bottom, right), img[frame.top + 1, frame.left + 1])
    draw_border(out, (top, left), (bottom, right), img[frame.top, frame.left])
    return out
