"""Each V shape is filled in row by row between its two arms."""


def task(img):
    out = img.copy()
    for obj in find_objects(img, connectivity=8):
        for r in range(obj.top, obj.bottom + 1):
            row = [c for rr, c in obj.cells if rr == r]
            draw_line(out, (r, min(row)), (r, max(row)), obj.color)
    return out
