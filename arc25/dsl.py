"""The drawing DSL that generated programs (and the model) write with.

Grids are 2-D integer numpy arrays with colours 0-9; points are (row, col).
Every function draws on ``img`` in place and returns it, so programs can chain
calls or ignore the return value. Anything that falls outside the grid is
clipped: a negative index never wraps around to the other side.
"""

from __future__ import annotations

import numpy as np
from skimage.draw import line as _line_coords
from skimage.segmentation import flood_fill as _flood_fill

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


# Coordinates this far out can only be a bug (or a hostile program asking skimage for a billion-point line).
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
        # skimage counts connectivity in steps: 1 = edge neighbours, 2 = also corners.
        img[...] = _flood_fill(img, (row, col), color, connectivity=1 if connectivity == 4 else 2)
    return img
