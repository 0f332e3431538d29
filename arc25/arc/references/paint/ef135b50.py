"""Two red blocks side by side with only background between their shared rows are bridged in maroon."""


def task(img):
    out = img.copy()
    blocks = find_objects(img)
    for a in blocks:
        for b in blocks:
            top, bottom = max(a.top, b.top), min(a.bottom, b.bottom)
            if a.right < b.left and top <= bottom and not img[top:bottom + 1, a.right + 1:b.left].any():
                out[top:bottom + 1, a.right + 1:b.left] = 9
    return out
