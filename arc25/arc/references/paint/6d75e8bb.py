"""The background cells in the azure shape's bounding box turn red."""


def task(img):
    out = img.copy()
    (top, left), (bottom, right) = find_objects(img, connectivity=8)[0].box
    box = out[top:bottom + 1, left:right + 1]
    box[box == 0] = 2
    return out
