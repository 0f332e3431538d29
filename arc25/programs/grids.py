"""What counts as a grid: checks for program outputs (the program's fault) and inputs (the caller's)."""

from __future__ import annotations

import numpy as np

from arc25 import dsl
from arc25.programs.errors import InvalidOutput, one_line

MAX_SIDE = dsl.MAX_SIDE
MAX_COLOR = 9


def validate_grid(x) -> np.ndarray:
    """Return ``x`` as a fresh int64 grid, or raise ``InvalidOutput``.

    Accepts numpy arrays and nested lists/tuples that are 2-D, have sides
    1-30 and hold integer colours 0-9 (integral floats are accepted; bools,
    fractional floats, strings and object arrays are not).
    """
    if isinstance(x, np.ndarray):
        arr = x
    elif isinstance(x, (list, tuple)):
        try:
            arr = np.array(x)
        except (ValueError, TypeError, OverflowError):
            raise InvalidOutput("output is not a rectangular grid") from None
    else:
        raise InvalidOutput(f"output is {one_line(type(x).__name__, 60)}, not a grid")
    if arr.ndim != 2:
        raise InvalidOutput(f"output has {arr.ndim} dimensions, expected 2")
    rows, cols = arr.shape
    if not (1 <= rows <= MAX_SIDE and 1 <= cols <= MAX_SIDE):
        raise InvalidOutput(f"output shape {rows}x{cols} is outside 1-{MAX_SIDE}")
    kind = arr.dtype.kind
    if kind == "f":
        if not np.isfinite(arr).all() or not (arr == np.trunc(arr)).all():
            raise InvalidOutput("output holds non-integer values")
    elif kind not in "iu":
        raise InvalidOutput(f"output dtype {arr.dtype} is not an integer type")
    low, high = arr.min(), arr.max()
    if low < 0 or high > MAX_COLOR:
        bad = low if low < 0 else high
        raise InvalidOutput(f"output colour {one_line(repr(bad.item()), 40)} is outside 0-{MAX_COLOR}")
    return np.array(arr, dtype=np.int64)


def as_input_grid(x) -> np.ndarray:
    """Inputs come from the caller, so a bad one is a caller bug (ValueError), not a program error."""
    arr = np.asarray(x)
    if arr.ndim != 2 or arr.dtype.kind not in "iu" or arr.size == 0:
        raise ValueError(f"inputs must be non-empty 2-D integer grids, got shape {arr.shape} dtype {arr.dtype}")
    return np.array(arr, dtype=np.int64)


def is_grid_like(x) -> bool:
    """True for one grid (as opposed to a list of grids): tells shared inputs from per-program inputs."""
    if isinstance(x, np.ndarray):
        return x.ndim == 2
    if isinstance(x, (list, tuple)) and len(x) > 0:
        row = x[0]
        if isinstance(row, np.ndarray):
            return row.ndim == 1
        return isinstance(row, (list, tuple)) and (len(row) == 0 or not isinstance(row[0], (list, tuple, np.ndarray)))
    return False
