"""Choosing among things: the one item with a unique property, groups by a property, where a sprite occurs, and
the period of a repeating pattern (to complete one). All pure."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from arc25.dsl._checks import check_grid, short
from arc25.dsl.draw import _check_color

__all__ = [
    "unique_by",
    "group_by",
    "find_sprite",
    "find_period",
    "complete_pattern",
]


def _keys(items, key) -> tuple[list, list]:
    if not callable(key):
        raise ValueError(f"key must be a function of one item, got {short(key)}")
    if isinstance(items, (str, bytes, dict, np.ndarray)) or not hasattr(items, "__iter__"):
        raise ValueError(f"items must be a list (or tuple) of items, got {short(items)}")
    items = list(items)
    return items, [key(item) for item in items]


def unique_by(items: list, key: Callable[[Any], Any]) -> Any:
    """The one item whose ``key(item)`` no other item shares; ``ValueError`` if none or several are unique."""
    items, keys = _keys(items, key)
    unique = [item for i, item in enumerate(items) if sum(1 for other in keys if other == keys[i]) == 1]
    if len(unique) != 1:
        raise ValueError(f"unique_by needs exactly one item with a key no other item has, got {len(unique)} "
                         f"among {len(items)} items (keys {short(keys)})")
    return unique[0]


def group_by(items: list, key: Callable[[Any], Any]) -> list[list]:
    """``items`` grouped by ``key(item)``: groups in ascending key order, items in their input order."""
    items, keys = _keys(items, key)
    try:
        order = sorted(range(len(items)), key=lambda i: keys[i])  # sorted is stable: input order within a key
    except TypeError:
        raise ValueError(f"group_by needs keys that sort (numbers, strings, tuples of them), "
                         f"got {short(keys)}") from None
    groups: list[list] = []
    previous = None
    for i in order:
        if groups and keys[i] == previous:
            groups[-1].append(items[i])
        else:
            groups.append([items[i]])
            previous = keys[i]
    return groups


def find_sprite(img: np.ndarray, sprite: np.ndarray) -> list[tuple[int, int]]:
    """The top-left (row, col) of every place where ``sprite`` matches ``img`` exactly, row-major."""
    check_grid(img)
    check_grid(sprite, "sprite")
    if sprite.shape[0] > img.shape[0] or sprite.shape[1] > img.shape[1]:
        return []
    windows = sliding_window_view(img, sprite.shape)
    rows, cols = np.nonzero((windows == sprite).all(axis=(2, 3)))
    return list(zip(rows.tolist(), cols.tolist()))


def _consistent(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, row_period: int, col_period: int) -> bool:
    """Whether the known cells (``rows``, ``cols``, ``values``) agree wherever they share a place in the tile."""
    classes = (rows % row_period) * col_period + cols % col_period
    # Write any one known value into each class, then read it back: the class agrees iff every value matches it.
    chosen = np.zeros(row_period * col_period, dtype=values.dtype)
    chosen[classes] = values
    return bool((chosen[classes] == values).all())


def _period(img: np.ndarray, unknown) -> tuple[int, int]:
    check_grid(img)
    known = np.ones(img.shape, dtype=bool) if unknown is None else img != _check_color(unknown)
    rows, cols = np.nonzero(known)
    values = img[rows, cols]
    height, width = img.shape
    # A pair can only hold if each of its periods holds on its own (the other side left whole), so test those first.
    row_periods = [p for p in range(1, height + 1) if _consistent(rows, cols, values, p, width)]
    col_periods = [p for p in range(1, width + 1) if _consistent(rows, cols, values, height, p)]
    pairs = sorted(((r, c) for r in row_periods for c in col_periods), key=lambda rc: (rc[0] * rc[1], rc[0]))
    return next(pair for pair in pairs if _consistent(rows, cols, values, *pair))


def find_period(img: np.ndarray, unknown: int | None = None) -> tuple[int, int]:
    """The (row period, col period) with the smallest tile area (ties: smaller row period) that every known cell obeys."""
    return _period(img, unknown)


def complete_pattern(img: np.ndarray, unknown: int) -> np.ndarray:
    """A copy of ``img`` with each ``unknown`` cell set from a known cell of the same place in ``find_period``'s tile."""
    check_grid(img)
    if unknown is None:
        raise ValueError("unknown must be a colour 0-9 (the colour of the cells to fill), got None")
    row_period, col_period = _period(img, unknown)
    known = img != unknown
    rows, cols = np.nonzero(known)
    tile = np.full(row_period * col_period, unknown, dtype=np.int64)
    tile[(rows % row_period) * col_period + cols % col_period] = img[rows, cols]
    all_rows, all_cols = np.indices(img.shape)
    return tile[(all_rows % row_period) * col_period + all_cols % col_period]
