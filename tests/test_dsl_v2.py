"""Behaviour of the v2 DSL (colours, painting, geometry, objects, selection), its argument errors, and its place
in the sandbox; plus the guarantee that everything derived from the v1 names (task stream, prompts, token
classes) is unchanged by it."""

from __future__ import annotations

import inspect
import itertools
import textwrap
import time

import numpy as np
import pytest

from arc25 import dsl
from arc25.dsl import (
    Object,
    cells_of,
    color_count,
    colors,
    complete_pattern,
    concat,
    crop,
    crop_to_content,
    downscale,
    draw_border,
    draw_object,
    draw_ray,
    erase_object,
    fill,
    find_objects,
    find_period,
    find_sprite,
    flip,
    group_by,
    holes,
    least_common_color,
    map_colors,
    most_common_color,
    move,
    move_until_contact,
    object_from_mask,
    outline,
    pad,
    paste,
    recolor,
    replace_color,
    rotate,
    same_shape,
    split,
    split_by_lines,
    swap_colors,
    tile,
    touches,
    transpose,
    unique_by,
    upscale,
)

V2_NAMES = [name for name in dsl.__all__ if name not in dsl.V1_NAMES]


def grid(rows: list[str]) -> np.ndarray:
    """A grid from strings of digits, one string per row."""
    return np.array([[int(ch) for ch in row] for row in rows], dtype=np.int64)


def rows_of(img: np.ndarray) -> list[str]:
    return ["".join(str(v) for v in row) for row in img.tolist()]


SCENE = grid([
    "1100200",
    "0100200",
    "0000000",
    "3330044",
    "3030044",
    "3330000",
])


# --------------------------------------------------------------------------- names and exports


def test_all_lists_v1_then_v2_and_every_name_resolves_to_its_function():
    assert dsl.V1_NAMES == tuple(dsl.draw.__all__)
    assert list(dsl.__all__[: len(dsl.V1_NAMES)]) == list(dsl.V1_NAMES)
    assert len(dsl.__all__) == len(set(dsl.__all__))
    import importlib

    modules = [importlib.import_module(f"arc25.dsl.{m}") for m in ("colors", "paint", "geometry", "objects", "selection")]
    assert V2_NAMES == [name for module in modules for name in module.__all__]
    for module in modules:
        for name in module.__all__:
            # The colours module shares its name with the function ``colors``: the package must hold the function.
            assert getattr(dsl, name) is getattr(module, name), name


def test_v2_names_have_type_hints_on_every_argument_and_the_return():
    for name in V2_NAMES:
        func = getattr(dsl, name)
        target = func.__init__ if inspect.isclass(func) else func
        signature = inspect.signature(target)
        unhinted = [p for p in signature.parameters.values() if p.annotation is inspect.Parameter.empty and p.name != "self"]
        assert not unhinted, f"{name}: no type hint on {[p.name for p in unhinted]}"
        assert signature.return_annotation is not inspect.Signature.empty, f"{name}: no return type hint"


# --------------------------------------------------------------------------- colours


def test_colors():
    assert colors(SCENE) == [0, 1, 2, 3, 4]
    assert colors(SCENE, exclude=0) == [1, 2, 3, 4]
    assert colors(SCENE, exclude=(0, 3)) == [1, 2, 4]
    assert all(type(c) is int for c in colors(SCENE))


def test_most_common_color_and_ties_go_to_the_lower_colour():
    assert most_common_color(SCENE) == 0
    assert most_common_color(SCENE, exclude=0) == 3
    assert most_common_color(grid(["1122"])) == 1
    assert most_common_color(grid(["2211"])) == 1
    with pytest.raises(ValueError, match="no colour outside exclude"):
        most_common_color(grid(["00"]), exclude=0)


def test_least_common_color_counts_only_colours_present():
    assert least_common_color(SCENE) == 2  # 2: 2 cells, 1: 3 cells; 5-9 are absent, not rare
    assert least_common_color(grid(["3311"])) == 1
    assert least_common_color(grid(["5"])) == 5
    with pytest.raises(ValueError):
        least_common_color(grid(["5"]), exclude=[5])


def test_color_count():
    assert color_count(SCENE, 3) == 8
    assert color_count(SCENE, 9) == 0


def test_cells_of_is_row_major():
    assert cells_of(SCENE, 1) == [(0, 0), (0, 1), (1, 1)]
    assert cells_of(SCENE, 9) == []


def test_replace_color_is_pure():
    before = SCENE.copy()
    out = replace_color(SCENE, 3, 7)
    assert color_count(out, 7) == 8 and color_count(out, 3) == 0
    assert np.array_equal(SCENE, before) and out.dtype == np.int64


def test_map_colors_maps_all_at_once_and_keeps_unlisted_colours():
    out = map_colors(grid(["123"]), {1: 2, 2: 1})
    assert rows_of(out) == ["213"]
    with pytest.raises(ValueError, match="mapping must be a dict"):
        map_colors(grid(["1"]), [(1, 2)])


def test_swap_colors():
    assert rows_of(swap_colors(grid(["1202"]), 0, 2)) == ["1020"]
    assert rows_of(swap_colors(grid(["12"]), 1, 1)) == ["12"]


# --------------------------------------------------------------------------- painting


def test_draw_border_draws_only_the_outline_and_clips():
    img = np.zeros((4, 5), dtype=np.int64)
    assert draw_border(img, (3, 4), (0, 0), 2) is img
    assert rows_of(img) == ["22222", "20002", "20002", "22222"]
    img = np.zeros((3, 3), dtype=np.int64)
    draw_border(img, (-1, -1), (1, 1), 5)
    assert rows_of(img) == ["050", "550", "000"]


def test_draw_ray_stops_before_a_stop_colour_and_at_the_edge():
    img = grid(["00000", "00030", "00000"])
    draw_ray(img, (1, 0), "right", 1, stop=3)
    assert rows_of(img) == ["00000", "01130", "00000"]
    img = np.zeros((3, 4), dtype=np.int64)
    draw_ray(img, (-1, -1), "down-right", 2)  # from outside: enters at the corner
    assert rows_of(img) == ["2000", "0200", "0020"]
    img = np.zeros((3, 3), dtype=np.int64)
    draw_ray(img, (1, 1), "up-left", 4, stop=[0])  # the next cell is a stop colour: nothing drawn
    assert not img.any()
    for direction in ("up", "down", "left", "right", "up-right", "down-left"):
        img = np.zeros((3, 3), dtype=np.int64)
        draw_ray(img, (1, 1), direction, 6)
        assert color_count(img, 6) == 1 and img[1, 1] == 0
    with pytest.raises(ValueError, match="direction must be one of up, down"):
        draw_ray(img, (1, 1), "north", 6)


def test_fill_with_a_mask_or_points():
    img = grid(["102", "010"])
    assert fill(img, img == 1, 7) is img
    assert rows_of(img) == ["702", "070"]
    fill(img, [(0, 1), (5, 5), (-1, 0)], 9)
    assert rows_of(img) == ["792", "070"]
    with pytest.raises(ValueError, match="boolean mask of img's shape"):
        fill(img, np.zeros((3, 3), dtype=bool), 1)
    with pytest.raises(ValueError, match="point must be a"):
        fill(img, [(0, 1, 2)], 1)


@pytest.mark.parametrize("n", [3, 40], ids=["few points", "many points"])
def test_fill_takes_points_of_any_integer_kind_and_paints_nothing_before_a_bad_one(n):
    points = [(r % 4, r % 5) for r in range(n)] + [(9, 0), (0, -9)]
    expected = np.zeros((4, 5), dtype=np.int64)
    expected[[p[0] for p in points[:n]], [p[1] for p in points[:n]]] = 6
    for kind in (tuple, list, lambda p: tuple(np.int64(v) for v in p), lambda p: np.array(p, dtype=np.uint8 if min(p) >= 0 else np.int64)):
        img = np.zeros((4, 5), dtype=np.int64)
        assert np.array_equal(fill(img, [kind(p) for p in points], 6), expected)
    img = np.zeros((4, 5), dtype=np.int64)
    for bad, needle in (((0, True), "point col must be an integer"), ((0, 2000), "within"), ((1.0, 0), "point row")):
        with pytest.raises(ValueError, match=needle):
            fill(img, [*points, bad], 6)
        assert not img.any()


def test_draw_object_in_its_colours_or_one_colour_clipped():
    obj = Object([(0, 0), (0, 1), (1, 1)], [1, 2, 3])
    img = np.zeros((2, 3), dtype=np.int64)
    assert draw_object(img, obj) is img
    assert rows_of(img) == ["120", "030"]
    draw_object(img, move(obj, 1, 1), 5)
    assert rows_of(img) == ["120", "055"]


def test_erase_object():
    img = SCENE.copy()
    first = find_objects(img)[0]
    assert erase_object(img, first) is img
    assert color_count(img, 1) == 0 and color_count(img, 3) == 8
    erase_object(img, find_objects(img)[0], background=8)
    assert color_count(img, 8) == 2


def test_paste_clips_and_skips_the_transparent_colour():
    img = np.full((3, 3), 4, dtype=np.int64)
    sprite = grid(["10", "22"])
    assert paste(img, sprite, (1, 2)) is img
    assert rows_of(img) == ["444", "441", "442"]
    img = np.full((3, 3), 4, dtype=np.int64)
    paste(img, sprite, (-1, 0), transparent=1)
    assert rows_of(img) == ["224", "444", "444"]


# --------------------------------------------------------------------------- geometry


def test_rotate_clockwise_and_returns_a_copy():
    img = grid(["12", "34"])
    assert rows_of(rotate(img)) == ["31", "42"]
    assert rows_of(rotate(img, 2)) == ["43", "21"]
    assert rows_of(rotate(img, -1)) == rows_of(rotate(img, 3)) == ["24", "13"]
    out = rotate(img, 0)
    out[0, 0] = 9
    assert img[0, 0] == 1


def test_flip():
    img = grid(["12", "34"])
    assert rows_of(flip(img, "lr")) == ["21", "43"]
    assert rows_of(flip(img, "ud")) == ["34", "12"]
    with pytest.raises(ValueError, match="axis must be 'lr'"):
        flip(img, 0)


def test_transpose():
    assert rows_of(transpose(grid(["123"]))) == ["1", "2", "3"]


def test_crop_inclusive_in_any_corner_order_and_clipped():
    assert rows_of(crop(SCENE, (4, 2), (3, 0))) == ["333", "303"]
    assert rows_of(crop(SCENE, (-5, 5), (1, 10))) == ["00", "00"]
    with pytest.raises(ValueError, match="hold no cell"):
        crop(SCENE, (10, 10), (12, 12))


def test_crop_to_content():
    img = grid(["0000", "0120", "0000"])
    assert rows_of(crop_to_content(img)) == ["12"]
    assert rows_of(crop_to_content(grid(["555", "515"]), background=5)) == ["1"]
    with pytest.raises(ValueError, match="no cell other than background 0"):
        crop_to_content(np.zeros((2, 2), dtype=np.int64))


def test_pad():
    assert rows_of(pad(grid(["1"]), 1, 3)) == ["333", "313", "333"]
    assert rows_of(pad(grid(["1"]), 0)) == ["1"]
    with pytest.raises(ValueError, match="sides must be at most 30"):
        pad(np.zeros((30, 30), dtype=np.int64), 1)


def test_upscale():
    assert rows_of(upscale(grid(["12"]), 2)) == ["1122", "1122"]
    with pytest.raises(ValueError, match="would make a 40x40 grid"):
        upscale(np.zeros((20, 20), dtype=np.int64), 2)


def test_downscale_takes_each_blocks_most_common_colour_ties_lower():
    img = grid(["1122", "1322", "5566", "5655"])
    assert rows_of(downscale(img, 2)) == ["12", "55"]
    assert np.array_equal(downscale(upscale(SCENE, 3), 3), SCENE)
    with pytest.raises(ValueError, match="factor must divide both sides"):
        downscale(img, 3)


def test_tile():
    assert rows_of(tile(grid(["12"]), 2, 2)) == ["1212", "1212"]


def test_concat():
    a, b = grid(["1", "2"]), grid(["3", "4"])
    assert rows_of(concat(a, b, "right")) == ["13", "24"]
    assert rows_of(concat(a, b, "down")) == ["1", "2", "3", "4"]
    with pytest.raises(ValueError, match="equal heights"):
        concat(a, grid(["1"]), "right")
    with pytest.raises(ValueError, match="direction must be 'right' or 'down'"):
        concat(a, b, "left")


def test_split_into_equal_panels_row_major():
    panels = split(grid(["1122", "3344"]), 2, 2)
    assert [rows_of(p) for p in panels] == [["11"], ["22"], ["33"], ["44"]]
    with pytest.raises(ValueError, match="divisible"):
        split(grid(["123"]), 1, 2)


def test_split_by_lines_finds_the_separator_colour():
    img = grid([
        "10501",
        "00500",
        "55555",
        "20502",
    ])
    panels = split_by_lines(img)
    assert [rows_of(p) for p in panels] == [["10", "00"], ["01", "00"], ["20"], ["02"]]
    # A blank row of the background is not a separator: 5 lies only on full lines, 0 does not.
    stacked = grid(["120", "000", "555", "302"])
    assert [rows_of(p) for p in split_by_lines(stacked)] == [["120", "000"], ["302"]]
    assert [rows_of(p) for p in split_by_lines(stacked, color=0)] == [["120"], ["555", "302"]]
    assert [rows_of(p) for p in split_by_lines(grid(["12", "34"]))] == [["12", "34"]]
    # Lines on the border and doubled lines make no empty panels.
    framed = grid(["88888", "81881", "88888", "88888", "82883", "88888"])
    assert [rows_of(p) for p in split_by_lines(framed)] == [["1"], ["1"], ["2"], ["3"]]
    assert [rows_of(p) for p in split_by_lines(grid(["55", "55"]))] == [["55", "55"]]
    with pytest.raises(ValueError, match="no panels"):
        split_by_lines(grid(["55", "55"]), color=5)


# --------------------------------------------------------------------------- objects


def test_Object_properties():
    obj = Object([(3, 4), (2, 3), (2, 4), (2, 5)], [7, 1, 7, 1])
    assert obj.cells == ((2, 3), (2, 4), (2, 5), (3, 4))  # row-major whatever the input order
    assert obj.colors == (1, 7, 1, 7)
    assert obj.size == 4 and obj.color == 1  # 1 and 7 tie: the lower colour
    assert obj.box == ((2, 3), (3, 5))
    assert (obj.top, obj.left, obj.bottom, obj.right, obj.height, obj.width) == (2, 3, 3, 5, 2, 3)
    assert obj.center == (2.5, 4.0)
    assert obj.shape == ((0, 0), (0, 1), (0, 2), (1, 1))
    assert not obj.is_rectangle and not obj.is_square and not obj.is_line
    assert rows_of(obj.sprite()) == ["171", "070"]
    assert rows_of(obj.sprite(background=9)) == ["171", "979"]
    assert Object([(0, 0), (0, 1), (1, 0), (1, 1)], 2).is_square
    bar = Object([(0, 0), (0, 1), (0, 2)], 2)
    assert bar.is_rectangle and bar.is_line and not bar.is_square
    assert Object([(0, 2), (1, 1), (2, 0)], 2).is_line  # anti-diagonal
    assert Object([(0, 0), (1, 1), (2, 2)], 2).is_line
    assert not Object([(0, 0), (1, 1), (2, 0)], 2).is_line
    assert not Object([(0, 0)], 2).is_line and Object([(0, 0)], 2).is_square


def test_Object_is_an_immutable_hashable_value():
    obj = Object([(0, 0), (0, 1)], 3)
    with pytest.raises(AttributeError, match="immutable"):
        obj.cells = ((5, 5),)
    with pytest.raises(AttributeError):
        del obj.colors
    with pytest.raises(AttributeError):
        obj.extra = 1
    assert isinstance(obj.cells, tuple) and all(type(c) is tuple for c in obj.cells)
    assert obj == Object([(0, 1), (0, 0)], [3, 3]) and hash(obj) == hash(Object([(0, 1), (0, 0)], 3))
    assert obj != recolor(obj, 4) and len({obj, Object([(0, 0), (0, 1)], 3)}) == 1
    import copy
    import pickle

    assert copy.deepcopy(obj) == obj and pickle.loads(pickle.dumps(obj)) == obj


def test_Object_checks_its_arguments():
    for cells, colors_, match in [
        ([], 1, "at least one"),
        ([(0, 0), (0, 0)], 1, "distinct"),
        ([(0, 0)], [1, 2], "one colour per cell"),
        ([(0, 0)], 10, "color must be an integer 0-9"),
        ([(0, 0, 0)], 1, r"\(row, col\) pair"),
        ([(0, 0), (0, 40)], 1, "must fit in a 30x30 box"),
        (5, 1, "collection of"),
    ]:
        with pytest.raises(ValueError, match=match):
            Object(cells, colors_)


def test_find_objects_by_colour_ordered_by_top_then_left():
    objs = find_objects(SCENE)
    assert [o.color for o in objs] == [1, 2, 3, 4]
    assert [o.box for o in objs] == [((0, 0), (1, 1)), ((0, 4), (1, 4)), ((3, 0), (5, 2)), ((3, 5), (4, 6))]
    assert objs[2].size == 8 and holes(objs[2]) == [(4, 1)]
    # Two objects with the same box corner: the one whose first cell comes first (row-major) leads.
    tied = find_objects(grid(["2010", "1110"]))
    assert [o.color for o in tied] == [2, 1] and tied[0].box[0] == tied[1].box[0] == (0, 0)


def test_find_objects_connectivity_colour_mode_and_background():
    img = grid(["10", "02"])
    assert len(find_objects(img)) == 2
    assert len(find_objects(img, connectivity=8)) == 2  # different colours stay apart
    both = find_objects(img, connectivity=8, by_color=False)
    assert len(both) == 1 and both[0].colors == (1, 2)
    assert len(find_objects(img, by_color=False)) == 2
    assert [o.color for o in find_objects(img, background=None)] == [1, 0, 0, 2]
    assert [o.color for o in find_objects(grid(["55", "51"]), background=5)] == [1]
    with pytest.raises(ValueError, match="connectivity must be 4 or 8"):
        find_objects(img, connectivity=6)
    with pytest.raises(ValueError, match="by_color must be True or False"):
        find_objects(img, by_color=1)


def test_find_objects_matches_scipy_labelling_on_random_grids():
    from scipy import ndimage

    rng = np.random.default_rng(3)
    for _ in range(150):
        rows, cols = (int(v) for v in rng.integers(1, 14, size=2))
        img = rng.integers(0, int(rng.integers(1, 5)), size=(rows, cols))
        for connectivity, by_color in itertools.product((4, 8), (True, False)):
            structure = ndimage.generate_binary_structure(2, 1 if connectivity == 4 else 2)
            expected = set()
            for mask in ([img == c for c in range(1, 10)] if by_color else [img != 0]):
                labels, n = ndimage.label(mask, structure)
                expected |= {tuple(zip(*(a.tolist() for a in np.nonzero(labels == i)))) for i in range(1, n + 1)}
            found = find_objects(img, connectivity=connectivity, by_color=by_color)
            assert {o.cells for o in found} == expected
            keys = [(o.top, o.left, o.cells[0]) for o in found]
            assert keys == sorted(keys)
            for o in found:
                assert o.colors == tuple(img[r, c] for r, c in o.cells)


def test_find_objects_is_fast_on_a_30x30_grid():
    img = np.zeros((30, 30), dtype=np.int64)
    img[2:5, 3:8], img[10:20, 10], img[15:18, 20:28], img[25, ::2] = 4, 2, 3, 1
    find_objects(img)
    start = time.perf_counter()
    for _ in range(20):
        find_objects(img)
    assert (time.perf_counter() - start) / 20 < 0.01  # ~0.2 ms on a quiet core; generous for a shared one


def test_object_from_mask():
    obj = object_from_mask(SCENE, SCENE >= 3)
    assert obj.size == 12 and obj.colors.count(4) == 4
    with pytest.raises(ValueError, match="at least one cell"):
        object_from_mask(SCENE, SCENE > 5)
    with pytest.raises(ValueError, match="boolean array of img's shape"):
        object_from_mask(SCENE, SCENE)


def test_move_returns_a_new_object():
    obj = Object([(0, 0), (1, 0)], [1, 2])
    moved = move(obj, 2, -3)
    assert moved.cells == ((2, -3), (3, -3)) and moved.colors == (1, 2)
    assert obj.cells == ((0, 0), (1, 0))
    with pytest.raises(ValueError, match="dr must be an integer"):
        move(obj, 1.5, 0)


def test_recolor():
    obj = Object([(0, 0), (1, 0)], [1, 2])
    assert recolor(obj, 5).colors == (5, 5) and obj.colors == (1, 2)


def test_move_until_contact():
    img = grid([
        "0000",
        "0110",
        "0000",
        "0000",
        "0030",
    ])
    obj = find_objects(img)[0]
    assert move_until_contact(obj, "down", img).box == ((3, 1), (3, 2))  # stops on top of the 3
    assert move_until_contact(obj, "up", img).box == ((0, 1), (0, 2))  # stops at the edge
    assert move_until_contact(obj, "right", img).box == ((1, 2), (1, 3))  # slides over its own cells
    assert move_until_contact(obj, "left", img).left == 0
    blocked = find_objects(grid(["12"]))[0]
    assert move_until_contact(blocked, "right", grid(["12"])) == blocked
    with pytest.raises(ValueError, match="direction must be one of up, down, left, right"):
        move_until_contact(obj, "down-left", img)


def test_touches():
    a = Object([(0, 0)], 1)
    assert touches(a, Object([(0, 1)], 2))
    assert not touches(a, Object([(1, 1)], 2))
    assert touches(a, Object([(1, 1)], 2), diagonal=True)
    assert touches(a, Object([(0, 0), (5, 5)], 2))  # sharing a cell counts
    assert not touches(a, Object([(0, 2)], 2), diagonal=True)


def test_same_shape():
    a = Object([(0, 0), (0, 1), (1, 0)], 1)
    assert same_shape(a, Object([(5, 5), (5, 6), (6, 5)], 3))
    assert not same_shape(a, rotate_object(a))


def rotate_object(obj: Object) -> Object:
    return Object([(c, -r) for r, c in obj.cells], obj.colors)


def test_holes_are_enclosed_cells_only():
    ring = Object([(r, c) for r in range(4) for c in range(4) if not (1 <= r <= 2 and 1 <= c <= 2)], 1)
    assert holes(ring) == [(1, 1), (1, 2), (2, 1), (2, 2)]
    cup = Object([(0, 0), (1, 0), (2, 0), (2, 1), (2, 2), (1, 2), (0, 2)], 1)
    assert holes(cup) == []  # open at the top
    diagonal_gap = Object([(0, 1), (1, 0), (1, 2), (2, 1)], 1)
    assert holes(diagonal_gap) == [(1, 1)]  # only 4-way paths count as an escape
    assert holes(move(ring, 10, 10))[0] == (11, 11)


def test_outline_row_major_and_unclipped():
    dot = Object([(0, 0)], 1)
    assert outline(dot) == [(-1, 0), (0, -1), (0, 1), (1, 0)]
    assert len(outline(dot, diagonal=True)) == 8
    bar = Object([(1, 1), (1, 2)], 1)
    assert outline(bar) == [(0, 1), (0, 2), (1, 0), (1, 3), (2, 1), (2, 2)]


# --------------------------------------------------------------------------- selection


def test_unique_by():
    objs = find_objects(grid(["1010", "0000", "2020"]))
    assert unique_by([1, 2, 2, 3, 3], lambda x: x) == 1
    assert unique_by(objs + [Object([(5, 5), (5, 6)], 4)], lambda o: o.size).color == 4
    with pytest.raises(ValueError, match="exactly one item .* got 0"):
        unique_by([1, 1], lambda x: x)
    with pytest.raises(ValueError, match="got 2"):
        unique_by([1, 2], lambda x: x)
    with pytest.raises(ValueError, match="key must be a function"):
        unique_by([1, 2], 3)


def test_group_by():
    assert group_by(["bb", "a", "cc", "d", "eee"], len) == [["a", "d"], ["bb", "cc"], ["eee"]]
    objs = find_objects(SCENE)
    assert [[o.color for o in g] for g in group_by(objs, lambda o: o.height)] == [[1, 2, 4], [3]]
    assert group_by([], len) == []
    with pytest.raises(ValueError, match="keys that sort"):
        group_by([1, "a"], lambda x: x)


def test_find_sprite():
    img = grid(["1210", "0012", "1200"])
    assert find_sprite(img, grid(["12"])) == [(0, 0), (1, 2), (2, 0)]
    assert find_sprite(img, grid(["12", "00"])) == [(0, 0), (1, 2)]
    assert find_sprite(img, grid(["121"])) == [(0, 0)]
    assert find_sprite(img, np.zeros((4, 4), dtype=np.int64)) == []


def test_find_period():
    base = grid(["123", "456"])
    assert find_period(np.tile(base, (3, 3))) == (2, 3)
    assert find_period(grid(["1212"])) == (1, 2)
    assert find_period(grid(["1234"])) == (1, 4)
    holed = np.tile(base, (3, 3))
    holed[1:3, 2:5] = 0
    assert find_period(holed, unknown=0) == (2, 3)
    assert find_period(grid(["10", "02"]), unknown=0) == (1, 2)  # (1, 2) and (2, 1) both fit: smaller row period
    assert find_period(grid(["10", "01"]), unknown=0) == (1, 1)


def test_complete_pattern():
    full = np.tile(grid(["123", "456"]), (3, 3))
    holed = full.copy()
    holed[1:3, 2:5] = 0
    holed[5, 8] = 0
    out = complete_pattern(holed, 0)
    assert np.array_equal(out, full) and np.count_nonzero(holed == 0) == 7
    with pytest.raises(ValueError, match="unknown must be a colour"):
        complete_pattern(holed, None)


# --------------------------------------------------------------------------- argument errors


def test_every_v2_function_refuses_a_non_grid_with_one_line_naming_it():
    for name in V2_NAMES:
        func = getattr(dsl, name)
        if name in ("Object", "unique_by", "group_by", "move", "recolor", "move_until_contact", "touches", "same_shape",
                    "holes", "outline"):
            continue
        params = list(inspect.signature(func).parameters)
        assert params[0] in ("img", "a"), name
        with pytest.raises(ValueError) as err:
            func([[1, 2]], *[None] * (len([p for p in inspect.signature(func).parameters.values()
                                           if p.default is inspect.Parameter.empty]) - 1))
        assert "\n" not in str(err.value) and "numpy array" in str(err.value) and "[[1, 2]]" in str(err.value), name


def test_bad_arguments_raise_one_line_value_errors_naming_the_value():
    img = SCENE.copy()
    obj = find_objects(img)[0]
    cases = [
        (lambda: colors(img, exclude=12), "12"),
        (lambda: colors(img, exclude="0"), "'0'"),
        (lambda: color_count(img, 10), "10"),
        (lambda: replace_color(img, 1, -1), "-1"),
        (lambda: map_colors(img, {1: 11}), "11"),
        (lambda: draw_border(img, (0, 0), (1,), 1), "(1,)"),
        (lambda: draw_ray(img, (0, 0), "right", 1, stop=[1, 20]), "20"),
        (lambda: draw_object(img, "obj"), "'obj'"),
        (lambda: paste(img, grid(["1"]), (0, 0), transparent=True), "True"),
        (lambda: rotate(img, 1.0), "1.0"),
        (lambda: pad(img, -1), "-1"),
        (lambda: upscale(img, 0), "0"),
        (lambda: tile(img, 1, 31), "31"),
        (lambda: split(img, 0, 1), "0"),
        (lambda: split_by_lines(img, color=12), "12"),
        (lambda: find_objects(img, background=-3), "-3"),
        (lambda: move_until_contact(obj, "down", img, background=10), "10"),
        (lambda: touches(obj, [(0, 0)]), "[(0, 0)]"),
        (lambda: holes(None), "None"),
        (lambda: outline(obj, diagonal="yes"), "'yes'"),
        (lambda: group_by(5, len), "5"),
        (lambda: find_sprite(img, np.zeros((2, 2, 2), dtype=np.int64)), "3-D"),
        (lambda: find_period(img, unknown=99), "99"),
        (lambda: crop_to_content(np.full((2, 2), 11)), "11"),
        (lambda: fill(img, "everywhere", 1), "'everywhere'"),
    ]
    for call, named in cases:
        with pytest.raises(ValueError) as err:
            call()
        message = str(err.value)
        assert "\n" not in message and named in message, message
    assert np.array_equal(img, SCENE)  # failed calls drew nothing


# --------------------------------------------------------------------------- v1 consumers are unchanged


V1_DESCRIPTION = """\
- `create_img(shape, color=0)`: Return a new grid of `shape` (rows, cols) filled with `color`.
- `draw_pixel(img, point, color)`: Set the cell at `point` to `color`; a point outside the grid draws nothing.
- `draw_line(img, point1, point2, color)`: Draw a straight line between two points, ends included (horizontal, vertical, diagonal or Bresenham).
- `draw_rectangle(img, point1, point2, color)`: Fill the rectangle with opposite corners `point1` and `point2` (both inclusive).
- `draw_horizontal_line(img, y, color)`: Paint the whole row `y`; a row outside the grid draws nothing.
- `draw_vertical_line(img, x, color)`: Paint the whole column `x`; a column outside the grid draws nothing.
- `flood_fill(img, point, color, connectivity=4)`: Recolour the region of same-coloured cells around `point` (connectivity 4 or 8)."""


def test_the_describe_dsl_prompt_lists_the_v1_functions_only():
    from arc25.prompts.prompting import PROMPT_STYLES, _describe_dsl

    assert _describe_dsl() == V1_DESCRIPTION
    assert V1_DESCRIPTION in PROMPT_STYLES["describe-dsl"].instructions
    assert "find_objects" not in PROMPT_STYLES["describe-dsl"].instructions


def test_the_task_stream_draws_with_the_v1_functions_only():
    from arc25.tasks.generators import DRAW_FUNCTIONS, SAMPLERS

    assert DRAW_FUNCTIONS == ("draw_pixel", "draw_line", "draw_rectangle", "draw_horizontal_line",
                              "draw_vertical_line", "flood_fill")
    assert set(SAMPLERS) == set(DRAW_FUNCTIONS)


def test_token_classes_know_the_v1_functions_only():
    from arc25.train import token_classes

    assert list(token_classes._DRAW_FUNCTIONS) == list(dsl.V1_NAMES[1:])


# --------------------------------------------------------------------------- in the sandbox


RECOLOR_BY_SIZE = textwrap.dedent("""
    def task(img):
        out = create_img(img.shape, 0)
        for obj in find_objects(img):
            draw_object(out, obj, 1 if obj.size == max(o.size for o in find_objects(img)) else 2)
        return out
""")

PANELS = textwrap.dedent("""
    from arc25.dsl import split_by_lines, crop_to_content

    def task(img):
        left, right = split_by_lines(img)
        return crop_to_content(np.where(left == right, 0, left)) if (left != right).any() else left
""")

# Each way a program might try to change an Object, and the words of the refusal it must meet (the static check for
# the first three; at run time the method guard, and Object itself for its own subclass).
IMMUTABLE_PROGRAMS = {
    "assignment": "def task(img):\n    obj = find_objects(img)[0]\n    obj.cells = ((0, 0),)\n    return img\n",
    "object.__setattr__": ("def task(img):\n    obj = find_objects(img)[0]\n"
                           "    object.__setattr__(obj, 'cells', ())\n    return img\n"),
    "setattr": "def task(img):\n    obj = find_objects(img)[0]\n    setattr(obj, 'cells', ())\n    return img\n",
    "method on a foreign self": textwrap.dedent("""
        class Hack:
            def poke(self):
                self.cells = ((0, 0),)

        def task(img):
            obj = find_objects(img)[0]
            Hack.poke(obj)
            return img
    """),
    "subclass": textwrap.dedent("""
        class Mine(Object):
            def poke(self):
                self.cells = ((0, 0),)

        def task(img):
            Mine([(0, 0)], 1).poke()
            return img
    """),
}


@pytest.fixture(scope="module")
def sandbox():
    from arc25.sandbox import Sandbox

    with Sandbox(n_workers=1) as pool:
        yield pool


def test_a_v2_program_runs_in_the_sandbox(sandbox):
    from arc25.sandbox import execute

    img = grid([
        "1100000",
        "1100220",
        "0000000",
        "0300000",
    ])
    (out,) = execute(RECOLOR_BY_SIZE, [img], sandbox=sandbox, timeout_s=5.0)
    assert rows_of(out) == ["1100000", "1100220", "0000000", "0200000"]
    panels = grid(["1205120", "0005000", "0305300"])
    (out,) = execute("import numpy as np\n" + PANELS, [panels], sandbox=sandbox, timeout_s=5.0)
    assert rows_of(out) == ["3"]
    star = "from arc25.dsl import *\n\ndef task(img):\n    return upscale(rotate(crop_to_content(img), 1), 2)\n"
    (out,) = execute(star, [grid(["000", "012"])], sandbox=sandbox, timeout_s=5.0)
    assert rows_of(out) == ["11", "11", "22", "22"]


@pytest.mark.parametrize("how", sorted(IMMUTABLE_PROGRAMS))
def test_Object_stays_immutable_in_the_sandbox(sandbox, how):
    from arc25.sandbox import ExecutionError, execute

    expected = {
        "assignment": "attribute assignment",
        "object.__setattr__": "'__setattr__' is not allowed",
        "setattr": "'setattr' is not allowed",
        "method on a foreign self": "instance of its own class",
        "subclass": "Object is immutable",
    }
    with pytest.raises(ExecutionError, match=expected[how]):
        execute(IMMUTABLE_PROGRAMS[how], [grid(["10", "01"])], sandbox=sandbox, timeout_s=5.0)


# One call of every v2 name, so that a lazy import or anything else a confined worker cannot do shows up here.
EVERY_V2_NAME = textwrap.dedent("""
    def task(img):
        out = create_img((6, 6), 0)
        n = len(colors(img)) + most_common_color(img) + least_common_color(img) + color_count(img, 1)
        n += len(cells_of(img, 1)) + int(replace_color(img, 1, 2).sum() + map_colors(img, {1: 3}).sum())
        n += int(swap_colors(img, 0, 1).sum())
        draw_border(out, (0, 0), (5, 5), 4)
        draw_ray(out, (1, 1), "down-right", 5, stop=4)
        fill(out, out == 0, 6)
        objs = find_objects(img, connectivity=8)
        obj = object_from_mask(img, img == 1)
        draw_object(out, move(recolor(obj, 7), 1, 1))
        erase_object(out, move_until_contact(Object([(0, 0)], 1), "down", out, background=6))
        paste(out, obj.sprite(), (0, 0), transparent=0)
        n += touches(objs[0], obj) + same_shape(obj, obj) + len(holes(obj)) + len(outline(obj, diagonal=True))
        n += unique_by([1, 2, 2], lambda x: x) + len(group_by(objs, lambda o: o.size)) + len(find_sprite(img, img))
        n += sum(find_period(img)) + int(complete_pattern(img, 0).sum())
        panels = split_by_lines(concat(img, create_img((img.shape[0], 1), 5), "right"))
        small = downscale(upscale(tile(pad(crop_to_content(crop(img, (0, 0), (2, 2))), 1), 1, 2), 2), 2)
        parts = split(transpose(flip(rotate(small), "lr")), 1, 1)
        draw_pixel(out, (5, 5), (n + len(panels) + len(parts)) % 10)
        return out
""")


def test_every_v2_name_runs_in_the_sandbox_as_in_process(sandbox):
    from arc25.programs.trusted import execute_trusted
    from arc25.sandbox import execute

    used = {name for name in V2_NAMES if f"{name}(" in EVERY_V2_NAME}
    assert used == set(V2_NAMES)
    img = grid(["110", "101", "111"])
    (out,) = execute(EVERY_V2_NAME, [img], sandbox=sandbox, timeout_s=5.0)
    assert np.array_equal(out, execute_trusted(EVERY_V2_NAME, [img])[0])
    assert color_count(out, 4) > 0 and color_count(out, 7) > 0


@pytest.mark.parametrize("grid, bad", [
    (np.array([[0, -1]], dtype=np.int8), -1), (np.array([[200]], dtype=np.uint8), 200),
    (np.arange(12, dtype=np.int32).reshape(3, 4)[:, ::2], 10), (np.array([[-5]], dtype=">i8"), -5),
    (np.array([[3, 10]]), 10), (np.array([[-(2 ** 62)]]), -(2 ** 62)),
], ids=["int8 negative", "uint8 over 9", "strided int32", "big-endian negative", "int64 ten", "int64 huge negative"])
def test_every_dsl_call_refuses_a_grid_with_a_cell_outside_0_9(grid, bad):
    with pytest.raises(ValueError, match=f"img must hold colours 0-9, got a cell of {bad}$"):
        fill(grid, [(0, 0)], 1)
    for good in (np.array([[0, 9]], dtype=np.int8), np.array([[9]], dtype=np.uint16), np.array([[0, 9]], dtype=">i4")):
        assert fill(good, [(0, 0)], 1)[0, 0] == 1
