"""Loose cells move next to the line of their colour (on their side of it); cells with no line of their colour go."""


def task(img):
    tall = any((img[:, c] == img[0, c]).all() and img[0, c] != 0 for c in range(img.shape[1]))
    grid = img if tall else transpose(img)
    lines = [(c, grid[0, c]) for c in range(grid.shape[1]) if (grid[:, c] == grid[0, c]).all() and grid[0, c] != 0]
    out = grid.copy()
    for obj in find_objects(grid):
        if obj.size == 1:
            (r, c) = obj.cells[0]
            out[r, c] = 0
            for col, color in lines:
                if color == obj.color:
                    out[r, col - 1 if c < col else col + 1] = color
    return out if tall else transpose(out)
