"""The drawing DSL that generated programs (and the model) write with.

Grids are 2-D integer numpy arrays with colours 0-9; points are (row, col).
Every function draws on ``img`` in place and returns it, so programs can chain
calls or ignore the return value. Anything that falls outside the grid is
clipped: a negative index never wraps around to the other side.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "create_img",
    "draw_pixel",
    "draw_line",
    "draw_rectangle",
    "draw_horizontal_line",
    "draw_vertical_line",
    "flood_fill",
]

MAX_SIDE = 30


def _check_color(color) -> int:
    if isinstance(color, (bool, np.bool_)) or not isinstance(color, (int, np.integer)) or not 0 <= color <= 9:
        raise ValueError(f"color must be an integer 0-9, got {color!r}")
    return int(color)


# Coordinates this far out can only be a bug (or a hostile program asking for a billion-point line).
MAX_COORD = 1000


def _check_int(value, what: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{what} must be an integer, got {value!r}")
    if not -MAX_COORD <= value <= MAX_COORD:
        raise ValueError(f"{what} must be within +-{MAX_COORD}, got {value}")
    return int(value)


def _check_point(point) -> tuple[int, int]:
    try:
        row, col = point
    except (TypeError, ValueError):
        raise ValueError(f"point must be a (row, col) pair of integers, got {point!r}") from None
    return _check_int(row, "point row"), _check_int(col, "point col")


def _line_coords(r1: int, c1: int, r2: int, c2: int) -> tuple[np.ndarray, np.ndarray]:
    """Bresenham's cells from (r1, c1) to (r2, c2), ends included: one cell per step along the longer axis,
    the shorter axis rounded half up in the direction of travel (the cells scikit-image's ``draw.line`` gives;
    kept here so that numpy is the DSL's only dependency and a sandbox worker forks a small process)."""
    dr, dc = abs(r2 - r1), abs(c2 - c1)
    sr, sc = (1 if r2 > r1 else -1), (1 if c2 > c1 else -1)
    steep = dr > dc
    major, minor = (dr, dc) if steep else (dc, dr)
    step = np.arange(major + 1, dtype=np.int64)
    across = (2 * minor * step + major) // (2 * major) if major else step
    rows, cols = (step, across) if steep else (across, step)
    return r1 + sr * rows, c1 + sc * cols


def _runs(mask: np.ndarray) -> np.ndarray:
    """Label each horizontal run of True cells of ``mask`` with its own positive number (0 elsewhere)."""
    starts = mask.copy()
    starts[:, 1:] &= ~mask[:, :-1]
    return np.where(mask, np.cumsum(starts).reshape(mask.shape), 0)


def _component(mask: np.ndarray, row: int, col: int, diagonal: bool) -> np.ndarray:
    """The cells of ``mask`` connected to (row, col) through edge neighbours (and corners if ``diagonal``).

    Grows whole row and column runs at a time until nothing changes, so a region takes a few numpy
    passes (one per turn of its longest path), not one per cell."""
    row_runs, col_runs = _runs(mask), _runs(mask.T).T
    region = np.zeros_like(mask)
    region[row, col] = True
    while True:
        grown = region
        if diagonal:
            grown = grown.copy()
            grown[1:, 1:] |= region[:-1, :-1]
            grown[1:, :-1] |= region[:-1, 1:]
            grown[:-1, 1:] |= region[1:, :-1]
            grown[:-1, :-1] |= region[1:, 1:]
            grown &= mask
        for runs in (row_runs, col_runs):
            reached = np.zeros(runs.max() + 1, dtype=bool)
            reached[runs[grown]] = True
            reached[0] = False
            grown = reached[runs]
        if np.array_equal(grown, region):
            return region
        region = grown


def create_img(shape, color=0):
    """Return a new grid of ``shape`` (rows, cols) filled with ``color``."""
    rows, cols = _check_point(shape)
    if not (1 <= rows <= MAX_SIDE and 1 <= cols <= MAX_SIDE):
        raise ValueError(f"shape sides must be 1-{MAX_SIDE}, got {(rows, cols)}")
    return np.full((rows, cols), _check_color(color), dtype=np.int64)


def draw_pixel(img, point, color):
    """Set the cell at ``point`` to ``color``; a point outside the grid draws nothing."""
    row, col = _check_point(point)
    color = _check_color(color)
    if 0 <= row < img.shape[0] and 0 <= col < img.shape[1]:
        img[row, col] = color
    return img


def draw_line(img, point1, point2, color):
    """Draw a straight line between two points, ends included (horizontal, vertical, diagonal or Bresenham)."""
    r1, c1 = _check_point(point1)
    r2, c2 = _check_point(point2)
    color = _check_color(color)
    rows, cols = _line_coords(r1, c1, r2, c2)
    inside = (rows >= 0) & (rows < img.shape[0]) & (cols >= 0) & (cols < img.shape[1])
    img[rows[inside], cols[inside]] = color
    return img


def draw_rectangle(img, point1, point2, color):
    """Fill the rectangle with opposite corners ``point1`` and ``point2`` (both inclusive)."""
    r1, c1 = _check_point(point1)
    r2, c2 = _check_point(point2)
    color = _check_color(color)
    top, bottom = max(min(r1, r2), 0), min(max(r1, r2), img.shape[0] - 1)
    left, right = max(min(c1, c2), 0), min(max(c1, c2), img.shape[1] - 1)
    if top <= bottom and left <= right:
        img[top : bottom + 1, left : right + 1] = color
    return img


def draw_horizontal_line(img, y, color):
    """Paint the whole row ``y``; a row outside the grid draws nothing."""
    y, color = _check_int(y, "y"), _check_color(color)
    if 0 <= y < img.shape[0]:
        img[y, :] = color
    return img


def draw_vertical_line(img, x, color):
    """Paint the whole column ``x``; a column outside the grid draws nothing."""
    x, color = _check_int(x, "x"), _check_color(color)
    if 0 <= x < img.shape[1]:
        img[:, x] = color
    return img


def flood_fill(img, point, color, connectivity=4):
    """Recolour the region of same-coloured cells around ``point`` (connectivity 4 or 8)."""
    row, col = _check_point(point)
    color = _check_color(color)
    if connectivity not in (4, 8):
        raise ValueError(f"connectivity must be 4 or 8, got {connectivity!r}")
    if 0 <= row < img.shape[0] and 0 <= col < img.shape[1] and img[row, col] != color:
        img[_component(img == img[row, col], row, col, diagonal=connectivity == 8)] = color
    return img
