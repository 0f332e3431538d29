"""Each hole in a colour band becomes a black line straight across that band."""


def task(img):
    across = len(colors(img[:, :1], exclude=(0,))) > 1
    grid = img if across else transpose(img)
    out = grid.copy()
    for band in find_objects(grid):
        rows = grid[band.top:band.bottom + 1]
        for c in range(grid.shape[1]):
            if (rows[:, c] == 0).any():
                out[band.top:band.bottom + 1, c] = 0
    return out if across else transpose(out)
