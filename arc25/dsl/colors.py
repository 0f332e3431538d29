"""Colour queries and colour maps: which colours a grid holds, how often, where, and recolouring (all pure)."""

from __future__ import annotations

import numpy as np

from arc25.dsl._checks import check_colors, check_grid, short
from arc25.dsl.draw import _check_color

__all__ = [
    "colors",
    "most_common_color",
    "least_common_color",
    "color_count",
    "cells_of",
    "replace_color",
    "map_colors",
    "swap_colors",
]


def _counts(img: np.ndarray, exclude) -> np.ndarray:
    """Cells per colour 0-9, with the excluded colours counted as absent."""
    counts = np.bincount(check_grid(img).ravel(), minlength=10)
    counts[list(check_colors(exclude, "exclude"))] = 0
    return counts


def colors(img: np.ndarray, exclude: int | tuple[int, ...] = ()) -> list[int]:
    """The colours present in ``img`` (minus ``exclude``, a colour or a collection), ascending."""
    return [int(color) for color in np.flatnonzero(_counts(img, exclude))]


def most_common_color(img: np.ndarray, exclude: int | tuple[int, ...] = ()) -> int:
    """The colour with the most cells (ignoring ``exclude``); ties go to the lower colour."""
    counts = _counts(img, exclude)
    if not counts.any():
        raise ValueError(f"img has no colour outside exclude={short(exclude)}")
    return int(np.argmax(counts))


def least_common_color(img: np.ndarray, exclude: int | tuple[int, ...] = ()) -> int:
    """The present colour with the fewest cells (ignoring ``exclude``); ties go to the lower colour."""
    counts = _counts(img, exclude)
    if not counts.any():
        raise ValueError(f"img has no colour outside exclude={short(exclude)}")
    return int(np.argmin(np.where(counts > 0, counts, counts.sum() + 1)))


def color_count(img: np.ndarray, color: int) -> int:
    """The number of cells of ``color`` in ``img``."""
    return int(np.count_nonzero(check_grid(img) == _check_color(color)))


def cells_of(img: np.ndarray, color: int) -> list[tuple[int, int]]:
    """The (row, col) cells of ``color`` in ``img``, row-major."""
    rows, cols = np.nonzero(check_grid(img) == _check_color(color))
    return list(zip(rows.tolist(), cols.tolist()))


def replace_color(img: np.ndarray, old: int, new: int) -> np.ndarray:
    """A copy of ``img`` with every cell of colour ``old`` set to ``new``."""
    check_grid(img)
    old, new = _check_color(old), _check_color(new)
    out = img.astype(np.int64)
    out[img == old] = new
    return out


def map_colors(img: np.ndarray, mapping: dict[int, int]) -> np.ndarray:
    """A copy of ``img`` with each colour recoloured through ``mapping`` (all at once; unlisted colours stay)."""
    check_grid(img)
    if not isinstance(mapping, dict):
        raise ValueError(f"mapping must be a dict of colour -> colour, got {short(mapping)}")
    table = np.arange(10, dtype=np.int64)
    for old, new in mapping.items():
        table[_check_color(old)] = _check_color(new)
    return table[img]


def swap_colors(img: np.ndarray, a: int, b: int) -> np.ndarray:
    """A copy of ``img`` with colours ``a`` and ``b`` exchanged."""
    check_grid(img)
    return map_colors(img, {_check_color(a): _check_color(b), b: a})
