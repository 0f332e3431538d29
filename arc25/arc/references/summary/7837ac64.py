"""Read the coloured grid crossings as a 3x3 grid: a cell takes the colour shared by all four of its corners."""


def task(img):
    line = most_common_color(img, exclude=(0,))
    marks = object_from_mask(img, (img != 0) & (img != line)).cells
    rows = [g[0][0] for g in group_by(marks, lambda p: p[0])]
    cols = [g[0][1] for g in group_by(marks, lambda p: p[1])]
    out = create_img((3, 3))
    for i in range(3):
        for j in range(3):
            corners = [img[rows[a], cols[b]] for a in (i, i + 1) for b in (j, j + 1)]
            if corners[0] != line and corners.count(corners[0]) == 4:
                out[i, j] = corners[0]
    return out
