"""Argument checks the v2 modules share (on top of draw.py's colour, integer and point checks).

Each raises ``ValueError`` with one line naming the bad value and what is accepted.
"""

from __future__ import annotations

import numpy as np

from arc25.dsl.draw import MAX_SIDE, _check_color


def short(value, limit: int = 60) -> str:
    """``repr(value)`` on one line, cut to ``limit`` characters (an error message stays one short line)."""
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_grid(img, what: str = "img") -> np.ndarray:
    """``img`` itself if it is a non-empty 2-D integer numpy array of colours 0-9."""
    if not isinstance(img, np.ndarray) or img.ndim != 2 or img.dtype.kind not in "iu":
        shape = f"a {img.ndim}-D {img.dtype} array" if isinstance(img, np.ndarray) else short(img)
        raise ValueError(f"{what} must be a 2-D integer numpy array (a grid), got {shape}")
    if img.size == 0:
        raise ValueError(f"{what} must have at least one cell, got shape {img.shape}")
    # One reduction, not min and max: seen as unsigned, a negative cell is huge, so the largest is > 9 either way
    # (every DSL call checks its grids, and the generator's gate makes hundreds of thousands of calls).
    unsigned = img if img.dtype.kind == "u" else img.view(img.dtype.str.replace("i", "u"))
    if unsigned.max() > 9:
        low, high = int(img.min()), int(img.max())
        raise ValueError(f"{what} must hold colours 0-9, got a cell of {low if low < 0 else high}")
    return img


def check_colors(value, what: str) -> tuple[int, ...]:
    """A colour or a collection of colours as a sorted tuple of distinct ints 0-9."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return (_check_color(value),)
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
        raise ValueError(f"{what} must be a colour 0-9 or a collection of colours, got {short(value)}")
    found = []
    for color in value:
        if isinstance(color, (bool, np.bool_)) or not isinstance(color, (int, np.integer)) or not 0 <= color <= 9:
            raise ValueError(f"{what} must hold colours 0-9, got {short(color)} in {short(value)}")
        found.append(int(color))
    return tuple(sorted(dict.fromkeys(found)))


def check_positive(value, what: str, limit: int = MAX_SIDE) -> int:
    """An integer 1-``limit``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or not 1 <= value <= limit:
        raise ValueError(f"{what} must be an integer 1-{limit}, got {short(value)}")
    return int(value)


def check_result_shape(rows: int, cols: int, what: str) -> None:
    """Refuse a result grid with a side over ``MAX_SIDE`` (no ARC grid is larger; a huge one is a bug or a bomb)."""
    if rows > MAX_SIDE or cols > MAX_SIDE:
        raise ValueError(f"{what} would make a {rows}x{cols} grid; sides must be at most {MAX_SIDE}")
