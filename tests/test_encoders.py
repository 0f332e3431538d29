"""Grid encoders: exact round trips, formats, spec parsing and error handling."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from arc25.prompts.encoders import (
    DEFAULT_ENCODER_SPEC,
    ENCODERS,
    GridEncoder,
    GridShapeEncoder,
    MinimalGridEncoder,
    RowNumberEncoder,
    get_encoder,
)

LEAVES = [name for name, cls in ENCODERS.items() if cls.n_inner == 0]
WRAPPERS = [name for name, cls in ENCODERS.items() if cls.n_inner == 1]


def _compositions(max_wrappers: int = 3) -> list[str]:
    """Every registered leaf under every valid chain of up to ``max_wrappers`` registered wrappers."""
    specs = []
    for depth in range(max_wrappers + 1):
        for chain in itertools.product(WRAPPERS, repeat=depth):
            if any(ENCODERS[name].outermost_only for name in chain[1:]):
                continue
            for leaf in LEAVES:
                spec = f"{leaf}()"
                for wrapper in reversed(chain):
                    spec = f"{wrapper}({spec})"
                specs.append(spec)
    return specs


SPECS = _compositions()


def test_compositions_cover_registry_and_default():
    assert DEFAULT_ENCODER_SPEC in SPECS
    for name in ENCODERS:
        assert any(name in spec for spec in SPECS)


@pytest.mark.parametrize("spec", SPECS)
def test_round_trip_every_size(spec):
    encoder = get_encoder(spec)
    rng = np.random.default_rng(0)
    for rows in range(1, 31):
        for cols in range(1, 31):
            grid = rng.integers(0, 10, size=(rows, cols))
            text = encoder.to_text(grid)
            assert isinstance(text, str)
            decoded = encoder.to_grid(text)
            assert decoded.dtype == np.int64
            assert np.array_equal(decoded, grid), (spec, rows, cols)


@pytest.mark.parametrize("spec", SPECS)
def test_round_trip_odd_layouts_and_dtypes(spec):
    encoder = get_encoder(spec)
    base = np.arange(60).reshape(6, 10) % 10
    variants = [base.T, base[::2, ::3], base.astype(np.uint8), base.astype(np.int8), np.asfortranarray(base)]
    variants.append(base.tolist())
    for grid in variants:
        assert np.array_equal(encoder.to_grid(encoder.to_text(grid)), np.asarray(grid))


@pytest.mark.parametrize("spec", SPECS)
def test_spec_is_canonical(spec):
    encoder = get_encoder(spec)
    assert encoder.spec == spec
    assert repr(encoder) == spec
    assert get_encoder(encoder.spec) == encoder


def test_exact_formats():
    grid = np.array([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 0, 1]])
    minimal = MinimalGridEncoder()
    assert minimal.to_text(grid) == "0123\n4567\n8901"
    assert RowNumberEncoder(minimal).to_text(grid) == "0 0123\n1 4567\n2 8901"
    assert GridShapeEncoder(minimal).to_text(grid) == "shape: 3x4\n0123\n4567\n8901"
    assert get_encoder(DEFAULT_ENCODER_SPEC).to_text(grid) == "shape: 3x4\n0 0123\n1 4567\n2 8901"
    assert minimal.to_text(np.array([[7]])) == "7"


def test_row_numbers_past_nine():
    text = RowNumberEncoder(MinimalGridEncoder()).to_text(np.zeros((12, 2), dtype=int))
    assert text.split("\n")[10] == "10 00"
    assert text.split("\n")[11] == "11 00"


def test_get_encoder_default_and_whitespace():
    assert get_encoder().spec == DEFAULT_ENCODER_SPEC
    assert get_encoder("MinimalGridEncoder").spec == "MinimalGridEncoder()"
    assert get_encoder(" GridShapeEncoder ( RowNumberEncoder(MinimalGridEncoder) ) ").spec == (
        "GridShapeEncoder(RowNumberEncoder(MinimalGridEncoder()))"
    )
    assert isinstance(get_encoder(DEFAULT_ENCODER_SPEC), GridEncoder)


@pytest.mark.parametrize(
    "spec, named",
    [
        ("Foo()", "Foo"),
        ("GridShapeEncoder(Bar())", "Bar"),
        ("minimalgridencoder()", "minimalgridencoder"),
        ("MinimalGridEncoder(", "end of spec"),
        ("MinimalGridEncoder())", "')'"),
        ("RowNumberEncoder()", "RowNumberEncoder"),
        ("RowNumberEncoder", "RowNumberEncoder"),
        ("MinimalGridEncoder(MinimalGridEncoder())", "MinimalGridEncoder"),
        ("GridShapeEncoder(MinimalGridEncoder() MinimalGridEncoder())", "MinimalGridEncoder"),
        ("", "end of spec"),
        ("()", "'('"),
        ("MinimalGridEncoder()+", "'+'"),
        ("GridShapeEncoder(RowNumberEncoder(MinimalGridEncoder()", "end of spec"),
        ("__import__('os')", "'"),
    ],
)
def test_bad_specs(spec, named):
    with pytest.raises(ValueError) as info:
        get_encoder(spec)
    message = str(info.value)
    assert "\n" not in message
    assert repr(spec) in message
    assert named in message
    for name in ENCODERS:
        assert name in message


def test_non_string_spec():
    with pytest.raises(ValueError):
        get_encoder(None)
    with pytest.raises(ValueError):
        RowNumberEncoder("MinimalGridEncoder()")


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize(
    "grid",
    [
        np.array([[0, 10]]),
        np.array([[-1, 0]]),
        np.array([[0, 1]], dtype=float),
        np.array([[True, False]]),
        np.array([1, 2, 3]),
        np.zeros((0, 3), dtype=int),
        np.zeros((2, 2, 2), dtype=int),
        np.array([[256]]),
    ],
    ids=["ten", "negative", "float", "bool", "1d", "empty", "3d", "wraps_uint8"],
)
def test_bad_grids(spec, grid):
    with pytest.raises(ValueError):
        get_encoder(spec).to_text(grid)


@pytest.mark.parametrize(
    "text",
    ["", "   ", "012\n34", "01a\n345", "0 1\n2 3", "01\n\n23", "०१", "01\n23\n-1", "12\t3"],
)
def test_minimal_malformed(text):
    with pytest.raises(ValueError):
        MinimalGridEncoder().to_grid(text)


def test_minimal_tolerates_surrounding_whitespace():
    assert np.array_equal(MinimalGridEncoder().to_grid("\n01\n23\n"), np.array([[0, 1], [2, 3]]))


@pytest.mark.parametrize(
    "text",
    ["0123\n4567", "1 0123\n2 4567", "0 0123\n2 4567", "0 0123\n1 45x7", "00123", "0 0123\n1 456", "a 0123"],
)
def test_row_number_malformed(text):
    with pytest.raises(ValueError):
        RowNumberEncoder(MinimalGridEncoder()).to_grid(text)


@pytest.mark.parametrize(
    "text",
    [
        "0123\n4567",
        "shape: 2x4",
        "shape: 3x4\n0123\n4567",
        "shape: 2x3\n0123\n4567",
        "shape 2x4\n0123\n4567",
        "shape: 2 x 4\n0123\n4567",
        "shape: 2x4\n0123\n45z7",
    ],
)
def test_grid_shape_malformed(text):
    with pytest.raises(ValueError):
        GridShapeEncoder(MinimalGridEncoder()).to_grid(text)


def test_default_malformed_mentions_the_problem():
    encoder = get_encoder(DEFAULT_ENCODER_SPEC)
    with pytest.raises(ValueError, match="shape"):
        encoder.to_grid("shape: 2x2\n0 01\n1 01\n2 01")
    with pytest.raises(ValueError, match="line 1"):
        encoder.to_grid("shape: 2x2\n0 01\n7 01")


CHANGES = "ChangesEncoder(GridShapeEncoder(RowNumberEncoder(MinimalGridEncoder())))"


def test_changes_exact_format():
    encoder = get_encoder(CHANGES)
    grid_in = np.zeros((3, 4), dtype=np.int64)
    grid_out = grid_in.copy()
    grid_out[1, :] = 7
    grid_out[0, 2] = 3
    grid_out[2, 1:3] = [5, 6]
    assert encoder.to_text(grid_in) == "shape: 3x4\n0 0000\n1 0000\n2 0000"
    assert encoder.output_text(grid_in, grid_out) == (
        "shape: 3x4\n0 0030\n1 7777\n2 0560\nchanges:\n(0, 2) color=3\n(1, 0)-(1, 3) color=7\n(2, 1) color=5\n"
        "(2, 2) color=6"
    )
    assert encoder.output_text(grid_in, grid_in).endswith("changes:\nnone")


def test_changes_round_trip_and_other_shapes():
    encoder = get_encoder(CHANGES)
    rng = np.random.default_rng(1)
    for rows, cols in [(1, 1), (3, 7), (12, 30), (30, 30)]:
        grid_in = rng.integers(0, 10, size=(rows, cols))
        grid_out = np.where(rng.random((rows, cols)) < 0.3, rng.integers(0, 10, size=(rows, cols)), grid_in)
        assert np.array_equal(encoder.output_grid(grid_in, encoder.output_text(grid_in, grid_out)), grid_out)
    # An output of another shape has nothing to compare cell by cell: the inner text alone.
    small = rng.integers(0, 10, size=(2, 2))
    assert encoder.output_text(grid_in, small) == get_encoder(CHANGES[len("ChangesEncoder("):-1]).to_text(small)
    assert np.array_equal(encoder.output_grid(grid_in, encoder.output_text(grid_in, small)), small)


def test_changes_section_must_agree_with_grid():
    encoder = get_encoder(CHANGES)
    grid_in = np.zeros((2, 2), dtype=np.int64)
    grid_out = np.array([[0, 1], [0, 0]])
    text = encoder.output_text(grid_in, grid_out)
    with pytest.raises(ValueError, match="disagrees"):
        encoder.output_grid(grid_in, text.replace("(0, 1) color=1", "(1, 1) color=1"))
    with pytest.raises(ValueError, match="without a 'changes:' section"):
        encoder.output_grid(grid_in, text.split("\nchanges:")[0])


def test_changes_encoder_only_outermost():
    with pytest.raises(ValueError, match="ChangesEncoder must be the outermost encoder, not inside GridShapeEncoder"):
        get_encoder("GridShapeEncoder(ChangesEncoder(MinimalGridEncoder()))")


def test_changes_reach_the_prompt_and_name_the_program_arguments():
    from arc25.prompts.prompting import prompt_messages

    grid_in = np.full((4, 5), 2, dtype=np.int64)
    grid_out = grid_in.copy()
    grid_out[3, :] = 8  # draw_horizontal_line(img, 3, color=8)
    user = prompt_messages([grid_in], [grid_out], CHANGES)[1]["content"]
    assert user.endswith("### Output\nshape: 4x5\n0 22222\n1 22222\n2 22222\n3 88888\nchanges:\n(3, 0)-(3, 4) color=8")


CHANGES_ONLY = "ChangesOnlyEncoder(GridShapeEncoder(RowNumberEncoder(MinimalGridEncoder())))"


def test_changes_only_writes_just_the_changes_and_round_trips():
    encoder = get_encoder(CHANGES_ONLY)
    grid_in = np.zeros((3, 4), dtype=np.int64)
    grid_out = grid_in.copy()
    grid_out[1, :] = 7
    grid_out[2, 3] = 1
    assert encoder.output_text(grid_in, grid_out) == "changes:\n(1, 0)-(1, 3) color=7\n(2, 3) color=1"
    assert encoder.output_text(grid_in, grid_in) == "changes:\nnone"
    rng = np.random.default_rng(2)
    for rows, cols in [(1, 1), (5, 9), (30, 30)]:
        a = rng.integers(0, 10, size=(rows, cols))
        b = np.where(rng.random((rows, cols)) < 0.4, rng.integers(0, 10, size=(rows, cols)), a)
        assert np.array_equal(encoder.output_grid(a, encoder.output_text(a, b)), b)
        other = rng.integers(0, 10, size=(2, 3))
        assert np.array_equal(encoder.output_grid(a, encoder.output_text(a, other)), other)


@pytest.mark.parametrize("text, problem", [
    ("changes:\n(1, 0)-(2, 3) color=7", "a run stays in one row"),
    ("changes:\n(9, 0) color=7", "outside"),
    ("changes:\n(1, 0): 7", "bad changes line"),
    ("shape: 3x4\n0 0000\n1 0000\n2 0000", "without a 'changes:' section"),
])
def test_changes_only_malformed(text, problem):
    with pytest.raises(ValueError, match=problem):
        get_encoder(CHANGES_ONLY).output_grid(np.zeros((3, 4), dtype=np.int64), text)


BOXES = "ChangeBoxesEncoder(GridShapeEncoder(RowNumberEncoder(MinimalGridEncoder())))"


def test_change_boxes_name_each_colour_box_after_the_runs():
    # draw_rectangle(img, (1, 0), (3, 3), color=5) then draw_rectangle(img, (0, 2), (1, 3), color=0) on 7s.
    encoder = get_encoder(BOXES)
    grid_in = np.full((5, 4), 7, dtype=np.int64)
    grid_out = grid_in.copy()
    grid_out[1:4, :] = 5
    grid_out[0:2, 2:4] = 0
    text = encoder.output_text(grid_in, grid_out)
    assert text == get_encoder(CHANGES).output_text(grid_in, grid_out) + (
        "\nboxes:\n(0, 2)-(1, 3) color=0 cells=4\n(1, 0)-(3, 3) color=5 cells=10")
    assert np.array_equal(encoder.output_grid(grid_in, text), grid_out)
    with pytest.raises(ValueError, match="disagrees"):
        encoder.output_grid(grid_in, text.replace("cells=10", "cells=12"))
    # Nothing changed, or another shape: no boxes section.
    assert encoder.output_text(grid_in, grid_in).endswith("changes:\nnone")
    assert encoder.output_text(grid_in, grid_out[:2]) == get_encoder(CHANGES).output_text(grid_in, grid_out[:2])


def test_change_boxes_round_trip():
    encoder = get_encoder(BOXES)
    rng = np.random.default_rng(3)
    for rows, cols in [(1, 1), (4, 6), (30, 30)]:
        a = rng.integers(0, 10, size=(rows, cols))
        b = np.where(rng.random((rows, cols)) < 0.3, rng.integers(0, 10, size=(rows, cols)), a)
        assert np.array_equal(encoder.output_grid(a, encoder.output_text(a, b)), b)


PARTS = "ChangePartsEncoder(GridShapeEncoder(RowNumberEncoder(MinimalGridEncoder())))"


def test_change_parts_name_each_separate_group_of_a_colour():
    # Two squares of colour 3 (one colour box over both) and one pixel of colour 4 (one group: no parts line).
    encoder = get_encoder(PARTS)
    grid_in = np.zeros((6, 6), dtype=np.int64)
    grid_out = grid_in.copy()
    grid_out[3:5, 3:5] = 3
    grid_out[0:2, 0:2] = 3
    grid_out[5, 0] = 4
    text = encoder.output_text(grid_in, grid_out)
    assert text == get_encoder(BOXES).output_text(grid_in, grid_out) + (
        "\nparts:\n(0, 0)-(1, 1) color=3 cells=4\n(3, 3)-(4, 4) color=3 cells=4")
    assert np.array_equal(encoder.output_grid(grid_in, text), grid_out)
    with pytest.raises(ValueError, match="disagrees"):
        encoder.output_grid(grid_in, text.replace("(3, 3)-(4, 4)", "(3, 3)-(4, 5)"))
    # Diagonal neighbours are one group; one group per colour reads as the boxes encoder.
    grid_out = grid_in.copy()
    grid_out[[0, 1, 2], [0, 1, 2]] = 7
    assert encoder.output_text(grid_in, grid_out) == get_encoder(BOXES).output_text(grid_in, grid_out)


def test_change_parts_list_at_most_max_parts():
    from arc25.prompts.encoders import MAX_PARTS

    grid_in = np.zeros((30, 30), dtype=np.int64)
    grid_out = grid_in.copy()
    grid_out[::2, ::2] = 5  # 225 single cells, none touching
    text = get_encoder(PARTS).output_text(grid_in, grid_out)
    assert len(text.split("\nparts:\n", 1)[1].splitlines()) == MAX_PARTS
    assert np.array_equal(get_encoder(PARTS).output_grid(grid_in, text), grid_out)
