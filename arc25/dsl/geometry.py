"""Whole-grid geometry and layout: turns, mirrors, crops, padding, scaling, tiling, joining and splitting into
panels. Every function is pure and returns new int64 grids (never views of its input)."""

from __future__ import annotations

import numpy as np

from arc25.dsl._checks import MAX_SIDE, check_grid, check_positive, check_result_shape, short
from arc25.dsl.draw import _check_color, _check_int, _check_point

__all__ = [
    "rotate",
    "flip",
    "transpose",
    "crop",
    "crop_to_content",
    "pad",
    "upscale",
    "downscale",
    "tile",
    "concat",
    "split",
    "split_by_lines",
]


def _new(grid: np.ndarray) -> np.ndarray:
    return np.array(grid, dtype=np.int64, order="C", copy=True)


def rotate(img: np.ndarray, times: int = 1) -> np.ndarray:
    """``img`` turned ``times`` quarter turns clockwise (negative: anticlockwise)."""
    return _new(np.rot90(check_grid(img), -(_check_int(times, "times") % 4)))


def flip(img: np.ndarray, axis: str) -> np.ndarray:
    """``img`` mirrored: axis ``"lr"`` swaps left and right, ``"ud"`` swaps up and down."""
    check_grid(img)
    if axis not in ("lr", "ud"):
        raise ValueError(f"axis must be 'lr' (left-right) or 'ud' (up-down), got {short(axis)}")
    return _new(img[:, ::-1] if axis == "lr" else img[::-1, :])


def transpose(img: np.ndarray) -> np.ndarray:
    """``img`` mirrored along its main diagonal (rows become columns)."""
    return _new(check_grid(img).T)


def crop(img: np.ndarray, point1: tuple[int, int], point2: tuple[int, int]) -> np.ndarray:
    """The part of ``img`` between opposite corners ``point1`` and ``point2`` (inclusive), clipped to the grid."""
    check_grid(img)
    r1, c1 = _check_point(point1)
    r2, c2 = _check_point(point2)
    top, bottom = max(min(r1, r2), 0), min(max(r1, r2), img.shape[0] - 1)
    left, right = max(min(c1, c2), 0), min(max(c1, c2), img.shape[1] - 1)
    if top > bottom or left > right:
        raise ValueError(f"crop corners {(r1, c1)} and {(r2, c2)} hold no cell of the "
                         f"{img.shape[0]}x{img.shape[1]} grid")
    return _new(img[top : bottom + 1, left : right + 1])


def crop_to_content(img: np.ndarray, background: int = 0) -> np.ndarray:
    """The smallest part of ``img`` holding every cell not of colour ``background``."""
    rows, cols = np.nonzero(check_grid(img) != _check_color(background))
    if rows.size == 0:
        raise ValueError(f"img has no cell other than background {background}, so nothing to crop to")
    return _new(img[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1])


def pad(img: np.ndarray, width: int, color: int = 0) -> np.ndarray:
    """``img`` inside a frame ``width`` cells wide of ``color`` on every side."""
    check_grid(img)
    if isinstance(width, (bool, np.bool_)) or not isinstance(width, (int, np.integer)) or not 0 <= width <= MAX_SIDE:
        raise ValueError(f"width must be an integer 0-{MAX_SIDE}, got {short(width)}")
    color = _check_color(color)
    check_result_shape(img.shape[0] + 2 * width, img.shape[1] + 2 * width, f"pad by {width}")
    return np.pad(img.astype(np.int64), int(width), constant_values=color)


def upscale(img: np.ndarray, factor: int) -> np.ndarray:
    """``img`` with each cell blown up into a ``factor`` x ``factor`` block."""
    check_grid(img)
    factor = check_positive(factor, "factor")
    check_result_shape(img.shape[0] * factor, img.shape[1] * factor, f"upscale by {factor}")
    return _new(np.repeat(np.repeat(img, factor, axis=0), factor, axis=1))


def downscale(img: np.ndarray, factor: int) -> np.ndarray:
    """``img`` shrunk by ``factor``: each ``factor`` x ``factor`` block becomes its most common colour (ties lower)."""
    check_grid(img)
    factor = check_positive(factor, "factor")
    rows, cols = img.shape
    if rows % factor or cols % factor:
        raise ValueError(f"factor must divide both sides of the {rows}x{cols} grid, got {factor}")
    blocks = img.reshape(rows // factor, factor, cols // factor, factor).transpose(0, 2, 1, 3)
    blocks = blocks.reshape(rows // factor, cols // factor, factor * factor)
    counts = (blocks[..., None] == np.arange(10)).sum(axis=2)
    return counts.argmax(axis=2).astype(np.int64)  # argmax takes the first maximum: the lower colour


def tile(img: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """``img`` repeated ``rows`` times down and ``cols`` times across."""
    check_grid(img)
    rows, cols = check_positive(rows, "rows"), check_positive(cols, "cols")
    check_result_shape(img.shape[0] * rows, img.shape[1] * cols, f"tile {rows}x{cols}")
    return _new(np.tile(img, (rows, cols)))


def concat(a: np.ndarray, b: np.ndarray, direction: str) -> np.ndarray:
    """``b`` joined to ``a``: on its right (``"right"``, same heights) or below it (``"down"``, same widths)."""
    check_grid(a, "a")
    check_grid(b, "b")
    if direction == "right":
        if a.shape[0] != b.shape[0]:
            raise ValueError(f"concat right needs equal heights, got {a.shape[0]} and {b.shape[0]}")
        check_result_shape(a.shape[0], a.shape[1] + b.shape[1], "concat right")
        return _new(np.concatenate([a, b], axis=1))
    if direction == "down":
        if a.shape[1] != b.shape[1]:
            raise ValueError(f"concat down needs equal widths, got {a.shape[1]} and {b.shape[1]}")
        check_result_shape(a.shape[0] + b.shape[0], a.shape[1], "concat down")
        return _new(np.concatenate([a, b], axis=0))
    raise ValueError(f"direction must be 'right' or 'down', got {short(direction)}")


def split(img: np.ndarray, rows: int, cols: int) -> list[np.ndarray]:
    """``img`` cut into ``rows`` x ``cols`` equal panels, row-major."""
    check_grid(img)
    rows, cols = check_positive(rows, "rows"), check_positive(cols, "cols")
    height, width = img.shape
    if height % rows or width % cols:
        raise ValueError(f"split {rows}x{cols} needs sides divisible by {rows} and {cols}, got a {height}x{width} grid")
    h, w = height // rows, width // cols
    return [_new(img[r * h : (r + 1) * h, c * w : (c + 1) * w]) for r in range(rows) for c in range(cols)]


def _separator(img: np.ndarray) -> int | None:
    """The colour whose full rows and columns hold the largest share of its cells (ties: lower colour); a colour
    that fills the whole grid separates nothing."""
    best, best_share = None, 0.0
    for color in range(10):
        same = img == color
        total = int(same.sum())
        if not total or total == img.size:
            continue
        full_rows, full_cols = same.all(axis=1), same.all(axis=0)
        if not (full_rows.any() or full_cols.any()):
            continue
        on_lines = int((full_rows[:, None] | full_cols[None, :])[same].sum())
        if on_lines / total > best_share:
            best, best_share = color, on_lines / total
    return best


def _bands(is_line: np.ndarray) -> list[tuple[int, int]]:
    """The [start, end) runs of indices between separator lines."""
    bands, start = [], None
    for i, line in enumerate(is_line.tolist() + [True]):
        if line and start is not None:
            bands.append((start, i))
            start = None
        elif not line and start is None:
            start = i
    return bands


def split_by_lines(img: np.ndarray, color: int | None = None) -> list[np.ndarray]:
    """Panels between full rows/columns of one colour (``color``, or found), row-major; no lines: ``[img]``."""
    check_grid(img)
    color = _separator(img) if color is None else _check_color(color)
    if color is None:
        return [_new(img)]
    same = img == color
    row_bands, col_bands = _bands(same.all(axis=1)), _bands(same.all(axis=0))
    if not row_bands or not col_bands:
        raise ValueError(f"img is all separator colour {color}: no panels between its lines")
    return [_new(img[r0:r1, c0:c1]) for r0, r1 in row_bands for c0, c1 in col_bands]
