"""Behaviour of every public DSL function, plus a meta-test that none goes untested."""

from __future__ import annotations

import inspect
import sys

import numpy as np
import pytest

from arc25 import dsl
from arc25.dsl import (
    create_img,
    draw_horizontal_line,
    draw_line,
    draw_pixel,
    draw_rectangle,
    draw_vertical_line,
    flood_fill,
)

BAD_COLORS = [-1, 10, 1.0, 2.5, "3", None, True, np.bool_(False)]


def cells(img: np.ndarray, color: int) -> set[tuple[int, int]]:
    """The (row, col) cells of ``img`` that hold ``color``."""
    return {(int(r), int(c)) for r, c in zip(*np.nonzero(img == color))}


def blank(rows: int = 5, cols: int = 5) -> np.ndarray:
    return np.zeros((rows, cols), dtype=np.int64)


# Every drawing call with valid arguments except the colour, so bad colours can be checked uniformly.
DRAW_CALLS = {
    "draw_pixel": lambda img, color: draw_pixel(img, (1, 1), color),
    "draw_line": lambda img, color: draw_line(img, (0, 0), (3, 3), color),
    "draw_rectangle": lambda img, color: draw_rectangle(img, (0, 0), (2, 2), color),
    "draw_horizontal_line": lambda img, color: draw_horizontal_line(img, 1, color),
    "draw_vertical_line": lambda img, color: draw_vertical_line(img, 1, color),
    "flood_fill": lambda img, color: flood_fill(img, (0, 0), color),
}


def test_create_img():
    img = create_img((3, 4))
    assert img.shape == (3, 4)
    assert np.issubdtype(img.dtype, np.integer)
    assert (img == 0).all()
    assert (create_img((2, 2), color=7) == 7).all()
    assert create_img((1, 1)).shape == (1, 1)
    assert create_img((30, 30)).shape == (30, 30)
    assert create_img((2, 3)) is not create_img((2, 3))
    for bad_shape in [(0, 3), (3, 0), (31, 1), (1, 31), (-1, 2), (3,), "ab", None]:
        with pytest.raises(ValueError):
            create_img(bad_shape)
    for bad in BAD_COLORS:
        with pytest.raises(ValueError):
            create_img((2, 2), color=bad)


def test_draw_pixel():
    img = blank(3, 4)
    assert draw_pixel(img, (1, 2), 5) is img
    assert cells(img, 5) == {(1, 2)}
    assert cells(img, 0) == {(r, c) for r in range(3) for c in range(4)} - {(1, 2)}
    # Corners are inside; one step past any edge, including negative indices, draws nothing.
    draw_pixel(img, (0, 0), 1)
    draw_pixel(img, (2, 3), 2)
    assert img[0, 0] == 1 and img[2, 3] == 2
    before = img.copy()
    for outside in [(-1, 0), (0, -1), (-1, -1), (3, 0), (0, 4), (-3, -4), (100, 100)]:
        assert draw_pixel(img, outside, 9) is img
    assert np.array_equal(img, before)
    with pytest.raises(ValueError):
        draw_pixel(img, (1,), 3)


def test_draw_line():
    # Horizontal and vertical, with the ends included and either end first.
    assert cells(draw_line(blank(), (1, 1), (1, 3), 4), 4) == {(1, 1), (1, 2), (1, 3)}
    assert cells(draw_line(blank(), (1, 3), (1, 1), 4), 4) == {(1, 1), (1, 2), (1, 3)}
    assert cells(draw_line(blank(), (0, 2), (3, 2), 4), 4) == {(0, 2), (1, 2), (2, 2), (3, 2)}
    # Both diagonals.
    assert cells(draw_line(blank(), (0, 0), (4, 4), 2), 2) == {(i, i) for i in range(5)}
    assert cells(draw_line(blank(), (0, 4), (4, 0), 2), 2) == {(i, 4 - i) for i in range(5)}
    assert cells(draw_line(blank(), (4, 0), (0, 4), 2), 2) == {(i, 4 - i) for i in range(5)}
    # A shallow line takes one cell per column.
    assert cells(draw_line(blank(), (0, 0), (1, 3), 6), 6) == {(0, 0), (0, 1), (1, 2), (1, 3)}
    # A single point.
    assert cells(draw_line(blank(), (2, 2), (2, 2), 1), 1) == {(2, 2)}
    # Clipping: only the part inside is drawn, and negative cells never wrap to the far side.
    assert cells(draw_line(blank(3, 5), (1, -3), (1, 1), 3), 3) == {(1, 0), (1, 1)}
    assert cells(draw_line(blank(3, 3), (-2, -2), (2, 2), 3), 3) == {(0, 0), (1, 1), (2, 2)}
    assert cells(draw_line(blank(3, 3), (1, 1), (1, 10), 3), 3) == {(1, 1), (1, 2)}
    assert cells(draw_line(blank(3, 3), (-5, -5), (-1, -1), 3), 3) == set()
    img = blank()
    assert draw_line(img, (0, 0), (0, 1), 1) is img


def test_draw_rectangle():
    expected = {(r, c) for r in range(1, 3) for c in range(1, 4)}
    # Any pair of opposite corners, in any order, gives the same inclusive rectangle.
    for p1, p2 in [((1, 1), (2, 3)), ((2, 3), (1, 1)), ((1, 3), (2, 1)), ((2, 1), (1, 3))]:
        assert cells(draw_rectangle(blank(), p1, p2, 8), 8) == expected
    assert cells(draw_rectangle(blank(), (2, 2), (2, 2), 8), 8) == {(2, 2)}
    # Clipping at every edge, negative corners included, without wrapping.
    assert cells(draw_rectangle(blank(4, 4), (-2, -3), (1, 0), 5), 5) == {(0, 0), (1, 0)}
    assert cells(draw_rectangle(blank(4, 4), (2, 2), (9, 9), 5), 5) == {(r, c) for r in (2, 3) for c in (2, 3)}
    assert cells(draw_rectangle(blank(4, 4), (-9, -9), (9, 9), 5), 5) == {(r, c) for r in range(4) for c in range(4)}
    # Entirely outside draws nothing.
    assert cells(draw_rectangle(blank(4, 4), (-3, -3), (-1, -1), 5), 5) == set()
    assert cells(draw_rectangle(blank(4, 4), (5, 0), (7, 3), 5), 5) == set()
    img = blank()
    assert draw_rectangle(img, (0, 0), (1, 1), 1) is img


def test_draw_horizontal_line():
    img = blank(3, 4)
    assert draw_horizontal_line(img, 1, 7) is img
    assert cells(img, 7) == {(1, c) for c in range(4)}
    before = img.copy()
    for outside in [-1, -3, 3, 10]:
        draw_horizontal_line(img, outside, 2)
    assert np.array_equal(img, before)


def test_draw_vertical_line():
    img = blank(3, 4)
    assert draw_vertical_line(img, 3, 7) is img
    assert cells(img, 7) == {(r, 3) for r in range(3)}
    before = img.copy()
    for outside in [-1, -4, 4, 10]:
        draw_vertical_line(img, outside, 2)
    assert np.array_equal(img, before)


def test_flood_fill():
    # Two zero regions that touch only at a corner: 4-connectivity keeps them apart, 8 joins them.
    base = np.array(
        [
            [0, 0, 1, 1],
            [0, 0, 1, 1],
            [1, 1, 0, 0],
            [1, 1, 0, 0],
        ]
    )
    four = base.copy()
    assert flood_fill(four, (0, 0), 5) is four
    assert cells(four, 5) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    eight = flood_fill(base.copy(), (0, 0), 5, connectivity=8)
    assert cells(eight, 5) == cells(base, 0)
    # Only the seed's colour is recoloured.
    assert cells(eight, 1) == cells(base, 1)
    # Filling with the region's own colour, or from outside the grid, changes nothing.
    for point, color in [((0, 0), 0), ((-1, 0), 5), ((0, -1), 5), ((4, 0), 5), ((0, 4), 5)]:
        img = base.copy()
        assert flood_fill(img, point, color) is img
        assert np.array_equal(img, base)
    for bad in [0, 2, 6, "4"]:
        with pytest.raises(ValueError):
            flood_fill(base.copy(), (0, 0), 5, connectivity=bad)


@pytest.mark.parametrize("name", sorted(DRAW_CALLS))
@pytest.mark.parametrize("bad", BAD_COLORS, ids=repr)
def test_bad_colors_raise(name, bad):
    img = blank()
    with pytest.raises(ValueError):
        DRAW_CALLS[name](img, bad)
    assert (img == 0).all()


@pytest.mark.parametrize("name", sorted(DRAW_CALLS))
def test_numpy_integer_colors_accepted(name):
    img = DRAW_CALLS[name](blank(), np.int64(3))
    assert (img == 3).any()


def _dsl_test_names() -> list[str]:
    """The names of every test function in tests/test_dsl*.py (read from their source, not imported)."""
    import ast
    from pathlib import Path

    names = []
    for path in sorted(Path(__file__).parent.glob("test_dsl*.py")):
        tree = ast.parse(path.read_text())
        names += [node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")]
    return names


def test_every_public_name_has_a_test():
    tests = _dsl_test_names()
    missing = [name for name in dsl.__all__
               if not any(test == f"test_{name}" or test.startswith(f"test_{name}_") for test in tests)]
    assert not missing, f"DSL names without a test_<name> (or test_<name>_...) in tests/test_dsl*.py: {missing}"
    assert set(DRAW_CALLS) <= set(dsl.__all__)
    assert callable(getattr(sys.modules[__name__], "test_flood_fill", None))  # the scan sees this very file


def test_every_public_function_has_a_one_line_docstring():
    for name in dsl.__all__:
        func = getattr(dsl, name)
        assert inspect.isfunction(func) or inspect.isclass(func), f"{name} is not a function or a class"
        doc = inspect.getdoc(func)
        assert doc, f"{name} has no docstring"
        assert "\n" not in doc.strip(), f"{name}'s docstring is not one line"
        if inspect.isclass(func):
            for attr, member in vars(func).items():
                if not attr.startswith("_") and (callable(member) or isinstance(member, property)):
                    member_doc = inspect.getdoc(member)
                    assert member_doc and "\n" not in member_doc.strip(), f"{name}.{attr}'s docstring is not one line"


def test_lines_and_fills_match_scikit_image():
    # The DSL draws with numpy alone (so a sandbox zygote need not load scipy and scikit-image); it must
    # give exactly the cells scikit-image's line and flood_fill give, which programs were written against.
    import itertools

    from skimage.draw import line
    from skimage.segmentation import flood_fill as reference_fill

    from arc25.dsl.draw import _line_coords

    span = range(-4, 7)
    for r1, c1, r2, c2 in itertools.product(span, span, span, span):
        ours, theirs = _line_coords(r1, c1, r2, c2), line(r1, c1, r2, c2)
        assert ours[0].tolist() == theirs[0].tolist() and ours[1].tolist() == theirs[1].tolist(), (r1, c1, r2, c2)
    rng = np.random.default_rng(7)
    for _ in range(300):
        rows, cols = (int(v) for v in rng.integers(1, 16, size=2))
        img = rng.integers(0, int(rng.integers(1, 4)), size=(rows, cols))
        point = (int(rng.integers(0, rows)), int(rng.integers(0, cols)))
        for connectivity in (4, 8):
            expected = reference_fill(img, point, 9, connectivity=1 if connectivity == 4 else 2)
            np.testing.assert_array_equal(flood_fill(img.copy(), point, 9, connectivity), expected)
