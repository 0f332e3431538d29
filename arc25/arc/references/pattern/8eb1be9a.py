"""The band of pattern repeats up and down to fill the grid, keeping its rows' phase."""


def task(img):
    band = crop_to_content(img)
    top = [r for r in range(img.shape[0]) if img[r].any()][0]
    out = img.copy()
    for r in range(img.shape[0]):
        out[r] = img[top + (r - top) % band.shape[0]]
    return out
