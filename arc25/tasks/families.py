"""Generator families: program templates with typed slots, run on shared input worlds (``arc25.tasks.worlds``).

A family is what a handful of reference solutions to real tasks have in common, with the task-specific constants
turned into *slots*: a colour, a direction, a key such as size or colour, a factor. Its template renders canonical
DSL v2 code from slot values; sampling a task = draw a world instance (one of the family's worlds, at least two
each), choose slot values that fit it, render, run the code on the inputs through the trusted runner (our own
code only). Some samples chain a second (and third) step: a whole-grid finisher such as a flip or an upscale.

The gate (``gate``), per sample:
- runs on every input, gives valid grids, and a second run gives the same grids (deterministic);
- non-trivial (an output differs from its input) and input-dependent (not every output is the same grid);
- identifiable: every slot is tried at its other values (colours: those in the task's grids plus one absent
  colour as the stand-in for every absent one); the slot is set to the first value, in the slot's stated order,
  that reproduces every output, so a task has one program (canonicalisation); a slot whose "off" value (no
  filter, no finisher, no stop colour) reproduces the outputs is thereby dropped, so every branch takes effect;
- a family's own precondition (ties for an extreme, for instance) holds on every input;
- no simpler program reproduces it: identity, a whole-grid rotation/flip/transpose, a global colour map, or a
  constant overlay of painted cells (the outputs of <= 2 constant v1 draws are such an overlay).
A rejected sample is resampled; the reason is counted.

Families and the stream's weights are in ``FAMILIES``; ``MIXTURE_WEIGHTS`` is the ``arc-v2`` mixture.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from arc25.programs.errors import ExecutionError
from arc25.programs.trusted import execute_trusted
from arc25.tasks.worlds import WORLDS, Instance, sample_instance

__all__ = ["FAMILIES", "FINISHERS", "Family", "FamilyGenerator", "GateRejection", "MIXTURE_WEIGHTS", "Slot",
           "render", "gate", "sample_family_task", "shortcut", "slot_alternatives"]

COLORS = tuple(range(10))
DIRECTIONS4 = ("up", "down", "left", "right")
DIRECTIONS8 = DIRECTIONS4 + ("up-left", "up-right", "down-left", "down-right")
MAX_ATTEMPTS = 200


class GateRejection(Exception):
    """A sampled family task failed the gate; the message is the check's name."""


@dataclass(frozen=True)
class Slot:
    """A typed hole in a template: its values in canonical order (the first that fits is the one kept).

    kind ``color``: a colour 0-9 (tried at the task's colours plus one absent colour); ``choice``: the values as
    listed. ``values`` may start with an "off" value (None) that removes the branch the slot controls.
    """

    name: str
    kind: str
    values: tuple

    def __post_init__(self):
        if self.kind not in ("color", "choice"):
            raise ValueError(f"slot kind must be 'color' or 'choice', got {self.kind!r}")


def color(name: str, optional: bool = False) -> Slot:
    return Slot(name, "color", ((None,) if optional else ()) + COLORS)


def choice(name: str, *values) -> Slot:
    return Slot(name, "choice", tuple(values))


# Whole-grid finishers a chain appends (None first: no step). Each is one line on ``img``.
FINISHERS = {
    None: None,
    "flip_lr": 'img = flip(img, "lr")',
    "flip_ud": 'img = flip(img, "ud")',
    "rotate1": "img = rotate(img, 1)",
    "rotate2": "img = rotate(img, 2)",
    "rotate3": "img = rotate(img, 3)",
    "transpose": "img = transpose(img)",
    "upscale2": "img = upscale(img, 2)",
}
FINISH = Slot("finish", "choice", tuple(FINISHERS))


@dataclass(frozen=True)
class Family:
    """A program template with typed slots and the worlds it draws inputs from."""

    name: str
    doc: str
    worlds: tuple[str, ...]
    slots: tuple[Slot, ...]
    body: Callable[[dict], list[str]]  # slot values -> lines on ``img`` (no def, no return)
    choose: Callable[[random.Random, Instance], dict]  # instance -> slot values that can take effect on it
    check: Callable[[list[np.ndarray], dict], str | None] = lambda inputs, s: None  # precondition: None or why not
    hints: dict = field(default_factory=dict)  # world name -> hints for its sampler
    chain: float = 0.0  # share of samples given a finisher step
    weight: float = 1.0
    seeds: tuple[str, ...] = ()  # reference task ids this family generalises

    def __post_init__(self):
        unknown = [w for w in self.worlds if w not in WORLDS]
        if unknown or len(self.worlds) < 2:
            raise ValueError(f"family {self.name!r}: needs >= 2 known worlds, got {self.worlds}")

    @property
    def all_slots(self) -> tuple[Slot, ...]:
        return self.slots + ((FINISH,) if self.chain else ())


def render(family: Family, slots: dict) -> str:
    """The canonical code of ``family`` with these slot values."""
    lines = list(family.body(slots))
    finisher = FINISHERS.get(slots.get("finish"))
    if finisher:
        lines.append(finisher)
    return "def task(img):\n" + "".join(f"    {line}\n" for line in lines) + "    return img\n"


def n_steps(family: Family, slots: dict) -> int:
    return 1 + (slots.get("finish") is not None)


# --- shortcuts: programs simpler than any family's -----------------------------------------------------------

_GEOMETRY = (
    lambda g: g, lambda g: np.rot90(g, -1), lambda g: np.rot90(g, 2), lambda g: np.rot90(g, 1),
    lambda g: g[:, ::-1], lambda g: g[::-1], lambda g: g.T, lambda g: np.rot90(g, 2).T,
)


def _same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, b))


def shortcut(inputs: list[np.ndarray], outputs: list[np.ndarray]) -> str | None:
    """The name of a simpler program that reproduces every output, or None.

    identity / geometry (the 8 whole-grid rotations and flips) / color_map (one colour for each colour, all
    pairs) / constant_overlay (the same cells painted the same colours in every output: what any number of
    constant v1 draws but flood fills does, so <= 2 of them in particular).
    """
    for k, transform in enumerate(_GEOMETRY):
        if _same([transform(g) for g in inputs], outputs):
            return "identity" if k == 0 else "geometry"
    if not all(i.shape == o.shape for i, o in zip(inputs, outputs)):
        return None
    mapping = np.full(10, -1)
    consistent = True
    for i, o in zip(inputs, outputs):
        for a, b in zip(i.ravel(), o.ravel()):
            if mapping[a] == -1:
                mapping[a] = b
            elif mapping[a] != b:
                consistent = False
                break
        if not consistent:
            break
    if consistent:
        return "color_map"
    if len({g.shape for g in inputs}) == 1:
        painted = np.full(inputs[0].shape, -1)
        for i, o in zip(inputs, outputs):
            changed = i != o
            if (painted[changed] >= 0).any() and (painted[changed] != o[changed]).any():
                return None
            painted[changed] = o[changed]
        if all(np.array_equal(np.where(painted >= 0, painted, i), o) for i, o in zip(inputs, outputs)):
            return "constant_overlay"
    return None


# --- the gate --------------------------------------------------------------------------------------------------


def _run(code: str, inputs: list[np.ndarray]) -> list[np.ndarray] | None:
    try:
        return execute_trusted(code, inputs)
    except ExecutionError:
        return None


def slot_alternatives(slot: Slot, task_colors: Iterable[int]) -> list:
    """Values of ``slot`` worth trying on a task: every choice; colours present plus the first absent one."""
    if slot.kind == "choice":
        return list(slot.values)
    present = set(task_colors)
    absent = [c for c in COLORS if c not in present][:1]
    return [v for v in slot.values if v is None or v in present or v in absent]


def _task_colors(grids: Iterable[np.ndarray]) -> list[int]:
    seen = np.zeros(10, dtype=bool)
    for g in grids:
        seen[np.unique(g)] = True
    return [int(c) for c in np.flatnonzero(seen)]


def canonicalize(family: Family, slots: dict, inputs: list[np.ndarray], outputs: list[np.ndarray]) -> tuple[dict, int]:
    """Each slot in turn set to its first value (in canonical order) that reproduces every output.

    Returns the slots and how many changed (the sample's ambiguity before canonicalisation). Repeats until no
    slot changes, at most twice over: a changed slot can free an earlier one.
    """
    colors = _task_colors(itertools.chain(inputs, outputs))
    slots = dict(slots)
    changed = 0
    for _ in range(2):
        moved = False
        for slot in family.all_slots:
            for value in slot_alternatives(slot, colors):
                if value == slots[slot.name]:
                    break
                trial = dict(slots, **{slot.name: value})
                result = _run(render(family, trial), inputs)
                if result is not None and _same(result, outputs):
                    slots = trial
                    changed += 1
                    moved = True
                    break
        if not moved:
            break
    return slots, changed


def gate(family: Family, slots: dict, inputs: list[np.ndarray], canonical: bool = True) -> tuple[str, list[np.ndarray], dict, int]:
    """Check one sample (see the module doc); return (code, outputs, canonical slots, slots changed)."""
    reason = family.check(inputs, slots)
    if reason:
        raise GateRejection(f"precondition:{reason}")
    code = render(family, slots)
    outputs = _run(code, inputs)
    if outputs is None:
        raise GateRejection("execution_error")
    if all(i.shape == o.shape and np.array_equal(i, o) for i, o in zip(inputs, outputs)):
        raise GateRejection("no_change")
    if len(outputs) > 1 and all(o.shape == outputs[0].shape and np.array_equal(o, outputs[0]) for o in outputs[1:]):
        raise GateRejection("constant_output")
    simpler = shortcut(inputs, outputs)
    if simpler:
        raise GateRejection(f"shortcut:{simpler}")
    changed = 0
    if canonical:
        slots, changed = canonicalize(family, slots, inputs, outputs)
        reason = family.check(inputs, slots)
        if reason:
            raise GateRejection(f"precondition:{reason}")
        code = render(family, slots)
    again = _run(code, inputs)
    if again is None or not _same(again, outputs):
        raise GateRejection("not_reproducible")
    return code, outputs, slots, changed


# --- sampling --------------------------------------------------------------------------------------------------


def _choose_finisher(rng: random.Random, family: Family) -> str | None:
    if family.chain and rng.random() < family.chain:
        return rng.choice([k for k in FINISHERS if k is not None])
    return None


def sample_family_task(rng: random.Random, family: Family, n_inputs: int = 3, rejections: Counter | None = None,
                       canonical: bool = True, instance: Instance | None = None, max_side: int = 30):
    """One gated task of ``family`` (a ``generators.Task``); ``instance`` (a world instance) is tried first."""
    from arc25.tasks.generators import Task

    for attempt in range(MAX_ATTEMPTS):
        if instance is not None and attempt == 0 and instance.world in family.worlds:
            inst = instance
        else:
            world = rng.choice(family.worlds)
            inst = sample_instance(rng, world, n_inputs, family.hints.get(world))
        slots = family.choose(rng, inst)
        if family.chain:
            slots["finish"] = _choose_finisher(rng, family)
        try:
            code, outputs, slots, changed = gate(family, slots, inst.grids, canonical)
            if max(max(o.shape) for o in outputs) > max_side:
                raise GateRejection("too_large")
        except GateRejection as reason:
            if rejections is not None:
                rejections[f"{family.name}/{reason}"] += 1
            continue
        if rejections is not None:
            rejections[f"{family.name}/accepted"] += 1
        return Task(inputs=inst.grids, outputs=outputs, code=code, generator=family.name,
                    n_draws=n_steps(family, slots),
                    meta={"family": family.name, "world": inst.world, "slots": slots, "ambiguous": changed,
                          "instance": inst})
    raise RuntimeError(f"family {family.name!r} produced no valid task in {MAX_ATTEMPTS} attempts")


@dataclass(frozen=True)
class FamilyGenerator:
    """A family as a mixture member: what ``generators.task_stream`` samples through ``sample``."""

    family: Family
    n_inputs: int = 3
    max_side: int = 30
    # Share of samples that reuse the previous task's world instance (when this family accepts that world).
    reuse: float = 0.25
    functions: tuple[str, ...] = ()

    def sample(self, rng: random.Random, rejections: Counter | None, canonical: bool, state: dict):
        previous = state.get("instance")
        reuse = previous if previous is not None and rng.random() < self.reuse else None
        if reuse is not None and len(reuse.grids) != self.n_inputs:
            reuse = None
        task = sample_family_task(rng, self.family, self.n_inputs, rejections, canonical, reuse, self.max_side)
        state["instance"] = task.meta["instance"]
        return task


# --- helpers the families' choose/check functions share --------------------------------------------------------


def _bg(grid: np.ndarray) -> int:
    counts = np.bincount(grid.ravel(), minlength=10)
    return int(np.argmax(counts))


def _objects(grid: np.ndarray, connectivity: int = 4, by_color: bool = True):
    from arc25 import dsl

    return dsl.find_objects(grid, background=_bg(grid), connectivity=connectivity, by_color=by_color)


def _unique_extreme(values: list, pick) -> bool:
    return len(values) > 0 and values.count(pick(values)) == 1


def _pick_color(rng: random.Random, avoid: Iterable[int]) -> int:
    avoid = set(avoid)
    return rng.choice([c for c in COLORS if c not in avoid])


def _marker(rng: random.Random, inst: Instance) -> int:
    if "marker" in inst.facts:
        return inst.facts["marker"]
    return rng.choice(inst.facts.get("colors") or _present(inst, [inst.facts.get("background", 0)]) or [1])


def _present(inst: Instance, exclude: Iterable[int] = ()) -> list[int]:
    exclude = set(exclude)
    return [c for c in _task_colors(inst.grids) if c not in exclude]


FAMILIES: dict[str, Family] = {}


def family(**kwargs) -> Family:
    fam = Family(**kwargs)
    if fam.name in FAMILIES:
        raise ValueError(f"family {fam.name!r} registered twice")
    FAMILIES[fam.name] = fam
    return fam


# --- the families ----------------------------------------------------------------------------------------------

_EXTREME = {"largest": ("max", "o.size"), "smallest": ("min", "o.size"), "tallest": ("max", "o.height"),
            "widest": ("max", "o.width"), "lowest": ("max", "o.bottom"), "highest": ("min", "o.top")}


def _extreme_check(key_slot: str, connectivity_slot: str | None = None, by_color: bool = True):
    def check(inputs, s):
        pick, attr = _EXTREME[s[key_slot]]
        for g in inputs:
            objs = _objects(g, connectivity=s.get(connectivity_slot, 4) if connectivity_slot else 4, by_color=by_color)
            values = [eval(attr, {"o": o}) for o in objs]  # noqa: S307 - our own attribute names
            if len(values) < 2 or not _unique_extreme(values, max if pick == "max" else min):
                return "tie"
        return None

    return check


family(
    name="recolor_extreme",
    doc="recolour the object that is extreme by a key (largest, smallest, tallest...) with colour C",
    worlds=("objects", "holes", "drawn"),
    slots=(choice("key", *_EXTREME), color("color")),
    body=lambda s: [
        "bg = most_common_color(img)",
        f"target = {_EXTREME[s['key']][0]}(find_objects(img, background=bg), key=lambda o: {_EXTREME[s['key']][1]})",
        f"draw_object(img, target, color={s['color']})",
    ],
    choose=lambda rng, inst: {"key": rng.choice(list(_EXTREME)), "color": _pick_color(rng, [inst.facts["background"]])},
    check=_extreme_check("key"),
    chain=0.25,
    weight=1.5,
)

_SELECT = {
    "largest": "max(objs, key=lambda o: o.size)",
    "smallest": "min(objs, key=lambda o: o.size)",
    "unique_color": "unique_by(objs, key=lambda o: o.color)",
    "unique_size": "unique_by(objs, key=lambda o: o.size)",
    "unique_shape": "unique_by(objs, key=lambda o: o.shape)",
}


def _crop_check(inputs, s):
    if s["select"] in ("largest", "smallest"):
        for g in inputs:
            sizes = [o.size for o in _objects(g, by_color=s["by_color"])]
            if len(sizes) < 2 or not _unique_extreme(sizes, max if s["select"] == "largest" else min):
                return "tie"
    return None


family(
    name="crop_object",
    doc="crop the grid to the box of the one object picked by a key (largest, smallest, unique colour/size/shape)",
    worlds=("objects", "sprites", "drawn"),
    slots=(choice("select", *_SELECT), choice("by_color", True, False)),
    body=lambda s: [
        "bg = most_common_color(img)",
        f"objs = find_objects(img, background=bg, by_color={s['by_color']})",
        f"target = {_SELECT[s['select']]}",
        "img = crop(img, *target.box)",
    ],
    choose=lambda rng, inst: {"select": rng.choice(list(_SELECT)), "by_color": inst.world != "sprites"},
    check=_crop_check,
    hints={"sprites": {"min_sprites": 2, "max_sprites": 3}, "objects": {"min_objects": 3}},
    chain=0.3,
    weight=1.5,
)

_RAY_DIRS = tuple((d,) for d in DIRECTIONS8) + (("left", "right"), ("up", "down"), DIRECTIONS4, DIRECTIONS8[4:])


def _ray_body(s):
    dirs = s["directions"]
    loop = f'"{dirs[0]}"' if len(dirs) == 1 else None
    paint = s["color"] if s["color"] is not None else s["marker"]
    stop = "" if s["stop"] is None else f", stop={s['stop']}"
    lines = [f"for p in cells_of(img, {s['marker']}):"]
    if loop:
        lines.append(f"    draw_ray(img, p, {loop}, {paint}{stop})")
    else:
        lines.append(f"    for d in {tuple(dirs)!r}:".replace("'", '"'))
        lines.append(f"        draw_ray(img, p, d, {paint}{stop})")
    return lines


family(
    name="marker_rays",
    doc="draw rays from every cell of a marker colour in one or more directions, stopping at a colour or the edge",
    worlds=("markers", "noise", "objects"),
    slots=(color("marker"), choice("directions", *_RAY_DIRS), color("color", optional=True), color("stop", optional=True)),
    body=_ray_body,
    choose=lambda rng, inst: {
        "marker": _marker(rng, inst),
        "directions": rng.choice(_RAY_DIRS),
        "color": None if rng.random() < 0.5 else _pick_color(rng, [inst.facts["background"]]),
        "stop": inst.facts["wall"] if "wall" in inst.facts and rng.random() < 0.6 else None,
    },
    hints={"noise": {"max_side": 12}},
    chain=0.15,
    weight=1.5,
)

family(
    name="fill_holes",
    doc="fill the enclosed holes of every object (or of objects of one colour) with colour C",
    worlds=("holes", "objects", "drawn"),
    slots=(color("color"), color("only", optional=True)),
    body=lambda s: [
        "bg = most_common_color(img)",
        "for obj in find_objects(img, background=bg):",
        *([f"    if obj.color == {s['only']}:", f"        fill(img, holes(obj), {s['color']})"] if s["only"] is not None
          else [f"    fill(img, holes(obj), {s['color']})"]),
    ],
    choose=lambda rng, inst: {
        "color": _pick_color(rng, [inst.facts["background"]]),
        "only": rng.choice(inst.facts["colors"]) if rng.random() < 0.3 else None,
    },
    hints={"objects": {"kinds": ("hollow", "hollow", "blob", "rect")}},
    chain=0.2,
    weight=1.5,
)

_MIRRORS = (("lr",), ("ud",), ("lr", "ud"))

family(
    name="mirror_complete",
    doc="replace the cells of the unknown colour with their mirror image across the grid's axes",
    worlds=("symmetric", "noise"),
    slots=(color("unknown"), choice("axes", *_MIRRORS)),
    body=lambda s: [f'img = np.where(img == {s["unknown"]}, flip(img, "{axis}"), img)' for axis in s["axes"]],
    choose=lambda rng, inst: {
        "unknown": inst.facts["unknown"] if "unknown" in inst.facts else rng.choice(inst.facts["colors"]),
        "axes": {"lr": ("lr",), "ud": ("ud",), "both": rng.choice(_MIRRORS)}.get(inst.facts.get("axes"), rng.choice(_MIRRORS)),
    },
    weight=1.0,
)

family(
    name="complete_pattern",
    doc="fill the unknown cells from the grid's period; optionally output only the box the unknown cells covered",
    worlds=("periodic", "symmetric"),
    slots=(color("unknown"), choice("output", "whole", "masked_box")),
    body=lambda s: [f"img = complete_pattern(img, {s['unknown']})"] if s["output"] == "whole" else [
        f"box = object_from_mask(img, img == {s['unknown']}).box",
        f"img = crop(complete_pattern(img, {s['unknown']}), *box)",
    ],
    choose=lambda rng, inst: {"unknown": inst.facts["unknown"], "output": rng.choice(("whole", "masked_box"))},
    weight=1.0,
)

_PANEL_KEYS = {
    "most_of": "max(panels, key=lambda p: color_count(p, {c}))",
    "fewest_of": "min(panels, key=lambda p: color_count(p, {c}))",
    "most_colors": "max(panels, key=lambda p: len(colors(p)))",
    "fewest_colors": "min(panels, key=lambda p: len(colors(p)))",
}


def _panel_check(inputs, s):
    from arc25 import dsl

    for g in inputs:
        try:
            panels = dsl.split_by_lines(g)
        except ValueError:
            return "no_panels"
        if len(panels) < 2:
            return "no_panels"
        if s["key"] in ("most_of", "fewest_of"):
            values = [int((p == s["color"]).sum()) for p in panels]
        else:
            values = [len(np.unique(p)) for p in panels]
        if not _unique_extreme(values, max if s["key"].startswith("most") else min):
            return "tie"
    return None


family(
    name="panel_select",
    doc="split the grid by its separator lines and output the panel with the most/fewest cells of C (or colours)",
    worlds=("panels", "lattice"),
    slots=(choice("key", *_PANEL_KEYS), color("color")),
    body=lambda s: ["panels = split_by_lines(img)", "img = " + _PANEL_KEYS[s["key"]].format(c=s["color"])],
    choose=lambda rng, inst: {"key": rng.choice(list(_PANEL_KEYS)),
                              "color": rng.choice(inst.facts.get("colors") or [1])},
    check=_panel_check,
    hints={"panels": {}},
    chain=0.2,
    weight=1.5,
)

_OVERLAY = {"and": "(a != {b}) & (b != {b})", "or": "(a != {b}) | (b != {b})", "xor": "(a != {b}) ^ (b != {b})",
            "nor": "(a == {b}) & (b == {b})", "left_only": "(a != {b}) & (b == {b})"}
_SPLITS = {"lines": "a, b = split_by_lines(img)", "halves_lr": "a, b = split(img, 1, 2)",
           "halves_ud": "a, b = split(img, 2, 1)"}


def _overlay_choose(rng, inst):
    if inst.world == "panels":
        split, bg = "lines", inst.facts["background"]
    else:
        rows, cols = inst.grids[0].shape
        split = "halves_lr" if all(g.shape[1] % 2 == 0 for g in inst.grids) else "halves_ud"
        bg = inst.facts["background"]
    return {"split": split, "op": rng.choice(list(_OVERLAY)), "background": bg,
            "color": _pick_color(rng, [bg])}


def _overlay_check(inputs, s):
    if s["split"] == "halves_lr" and any(g.shape[1] % 2 for g in inputs):
        return "odd_width"
    if s["split"] == "halves_ud" and any(g.shape[0] % 2 for g in inputs):
        return "odd_height"
    return None


family(
    name="panel_overlay",
    doc="split the grid into two panels and paint C where a boolean combination of their non-background cells holds",
    worlds=("panels", "noise"),
    slots=(choice("split", *_SPLITS), choice("op", *_OVERLAY), color("background"), color("color")),
    body=lambda s: [
        _SPLITS[s["split"]],
        f"img = create_img(a.shape, {s['background']})",
        f"fill(img, {_OVERLAY[s['op']].format(b=s['background'])}, {s['color']})",
    ],
    choose=_overlay_choose,
    check=_overlay_check,
    hints={"panels": {"layout": (1, 2), "same_panel_size": True}, "noise": {"min_side": 4, "max_side": 10}},
    weight=1.5,
)

_COUNTS = {
    "objects": "len(find_objects(img, background=bg))",
    "objects8": "len(find_objects(img, background=bg, connectivity=8))",
    "colors": "len(colors(img, exclude=(bg,)))",
}

family(
    name="count_bar",
    doc="count the objects (or colours) and output a 1xN (or Nx1) bar of colour C",
    worlds=("objects", "markers", "noise"),
    slots=(choice("count", *_COUNTS), choice("orient", "row", "column"), color("color")),
    body=lambda s: [
        "bg = most_common_color(img)",
        f"n = {_COUNTS[s['count']]}",
        f"img = create_img({'(1, n)' if s['orient'] == 'row' else '(n, 1)'}, {s['color']})",
    ],
    choose=lambda rng, inst: {"count": rng.choice(list(_COUNTS)), "orient": rng.choice(("row", "column")),
                              "color": rng.randrange(10)},
    hints={"markers": {"min_markers": 1, "max_markers": 6, "walls": 0.0}, "noise": {"max_side": 8}},
    weight=1.0,
)

_GRAVITY_ORDER = {"down": "-o.bottom", "up": "o.top", "left": "o.left", "right": "-o.right"}

family(
    name="gravity",
    doc="move every object in a direction until it touches the wall or another object, nearest the wall first",
    worlds=("objects", "markers", "drawn"),
    slots=(choice("direction", *DIRECTIONS4), color("only", optional=True)),
    body=lambda s: [
        "bg = most_common_color(img)",
        f"objs = sorted(find_objects(img, background=bg), key=lambda o: {_GRAVITY_ORDER[s['direction']]})",
        "for o in objs:",
        *([f"    if o.color == {s['only']}:", "        erase_object(img, o, bg)",
           f'        draw_object(img, move_until_contact(o, "{s["direction"]}", img, bg))'] if s["only"] is not None else
          ["    erase_object(img, o, bg)", f'    draw_object(img, move_until_contact(o, "{s["direction"]}", img, bg))']),
    ],
    choose=lambda rng, inst: {"direction": rng.choice(DIRECTIONS4),
                              "only": rng.choice(inst.facts["colors"]) if "colors" in inst.facts and rng.random() < 0.3
                              else (inst.facts.get("marker") if rng.random() < 0.5 else None)},
    weight=1.5,
)

family(
    name="upscale",
    doc="scale the grid (or its content's box) up by a factor k",
    worlds=("small", "sprites"),
    slots=(choice("crop", False, True), choice("factor", 2, 3, 4)),
    body=lambda s: (["img = crop_to_content(img, most_common_color(img))"] if s["crop"] else []) + [
        f"img = upscale(img, {s['factor']})"],
    choose=lambda rng, inst: {"crop": inst.world == "sprites", "factor": rng.choice((2, 3, 4))},
    hints={"sprites": {"min_sprites": 1, "max_sprites": 1, "max_side": 9}},
    chain=0.2,
    weight=1.0,
)

_TILES = {
    "tile12": ["img = tile(img, 1, 2)"], "tile21": ["img = tile(img, 2, 1)"], "tile22": ["img = tile(img, 2, 2)"],
    "tile33": ["img = tile(img, 3, 3)"],
    "mirror_lr": ['img = concat(img, flip(img, "lr"), "right")'],
    "mirror_ud": ['img = concat(img, flip(img, "ud"), "down")'],
    "mirror4": ['img = concat(img, flip(img, "lr"), "right")', 'img = concat(img, flip(img, "ud"), "down")'],
}

family(
    name="tile_mirror",
    doc="repeat the grid (or its content) as tiles, or append its mirror images",
    worlds=("small", "sprites"),
    slots=(choice("crop", False, True), choice("layout", *_TILES)),
    body=lambda s: (["img = crop_to_content(img, most_common_color(img))"] if s["crop"] else []) + _TILES[s["layout"]],
    choose=lambda rng, inst: {"crop": inst.world == "sprites", "layout": rng.choice(list(_TILES))},
    hints={"sprites": {"min_sprites": 1, "max_sprites": 1, "max_side": 9}},
    chain=0.2,
    weight=1.0,
)

_PROPERTIES = {
    None: None, "rectangle": "o.is_rectangle", "not_rectangle": "not o.is_rectangle", "line": "o.is_line",
    "square": "o.is_square", "size1": "o.size == 1", "size2": "o.size == 2", "size3": "o.size == 3",
    "size4": "o.size == 4", "has_holes": "len(holes(o)) > 0", "touches_edge":
        "o.top == 0 or o.left == 0 or o.bottom == img.shape[0] - 1 or o.right == img.shape[1] - 1",
}

family(
    name="recolor_by_property",
    doc="recolour every object with a property (rectangle, line, size n, holes, touching the edge) with colour C",
    worlds=("objects", "holes", "drawn"),
    slots=(choice("property", *_PROPERTIES), color("color")),
    body=lambda s: [
        "bg = most_common_color(img)",
        "for o in find_objects(img, background=bg):",
        *([f"    if {_PROPERTIES[s['property']]}:", f"        draw_object(img, o, color={s['color']})"]
          if s["property"] else [f"    draw_object(img, o, color={s['color']})"]),
    ],
    choose=lambda rng, inst: {"property": rng.choice([p for p in _PROPERTIES if p]),
                              "color": _pick_color(rng, [inst.facts["background"]])},
    hints={"objects": {"min_objects": 3, "max_objects": 6}},
    chain=0.2,
    weight=2.0,
)

family(
    name="outline_objects",
    doc="paint the outside neighbours (4- or 8-) of every object (or of one colour's objects) with colour C",
    worlds=("objects", "markers", "holes"),
    slots=(color("color"), choice("diagonal", False, True), color("only", optional=True)),
    body=lambda s: [
        "bg = most_common_color(img)",
        "for o in find_objects(img, background=bg):",
        *([f"    if o.color == {s['only']}:", f"        fill(img, outline(o, diagonal={s['diagonal']}), {s['color']})"]
          if s["only"] is not None else [f"    fill(img, outline(o, diagonal={s['diagonal']}), {s['color']})"]),
    ],
    choose=lambda rng, inst: {"color": _pick_color(rng, [inst.facts["background"]]), "diagonal": rng.random() < 0.5,
                              "only": rng.choice(inst.facts.get("colors") or [inst.facts.get("marker", 1)])
                              if rng.random() < 0.3 else None},
    hints={"objects": {"max_objects": 4}, "markers": {"walls": 0.0}},
    chain=0.15,
    weight=1.0,
)

family(
    name="box_objects",
    doc="draw a rectangle border of colour C one cell around the box of every object (or the largest/smallest)",
    worlds=("objects", "sprites", "markers"),
    slots=(choice("which", "all", "largest", "smallest"), color("color")),
    body=lambda s: [
        "bg = most_common_color(img)",
        *(["for o in find_objects(img, background=bg, by_color=False):"] if s["which"] == "all" else [
            f"for o in [{'max' if s['which'] == 'largest' else 'min'}(find_objects(img, background=bg, by_color=False), "
            "key=lambda o: o.size)]:"]),
        f"    draw_border(img, (o.top - 1, o.left - 1), (o.bottom + 1, o.right + 1), {s['color']})",
    ],
    choose=lambda rng, inst: {"which": rng.choice(("all", "all", "largest", "smallest")),
                              "color": _pick_color(rng, [inst.facts["background"]])},
    check=lambda inputs, s: None if s["which"] == "all" else _extreme_check("key", by_color=False)(
        inputs, {"key": s["which"]}),
    hints={"objects": {"max_objects": 3, "min_side": 9}, "sprites": {"max_sprites": 2}, "markers": {"walls": 0.0}},
    chain=0.15,
    weight=1.0,
)

family(
    name="denoise",
    doc="erase every object of at most k cells (the noise), 4- or 8-connected",
    worlds=("noise", "objects", "drawn"),
    slots=(choice("max_size", 1, 2, 3), choice("connectivity", 4, 8)),
    body=lambda s: [
        "bg = most_common_color(img)",
        f"for o in find_objects(img, background=bg{', connectivity=8' if s['connectivity'] == 8 else ''}):",
        f"    if o.size <= {s['max_size']}:",
        "        erase_object(img, o, bg)",
    ],
    choose=lambda rng, inst: {"max_size": rng.choice((1, 1, 2, 3)), "connectivity": rng.choice((4, 8))},
    hints={"noise": {"min_side": 6}},
    chain=0.15,
    weight=1.0,
)


def _connect_check(inputs, s):
    return "same_color" if s["color"] == s["marker"] else None


family(
    name="connect_markers",
    doc="join every two cells of a marker colour that share a row or column with a line of colour C",
    worlds=("markers", "noise"),
    slots=(color("marker"), color("color")),
    body=lambda s: [
        f"points = cells_of(img, {s['marker']})",
        "for p in points:",
        "    for q in points:",
        "        if p < q and (p[0] == q[0] or p[1] == q[1]):",
        f"            draw_line(img, p, q, {s['color']})",
        f"fill(img, points, {s['marker']})",
    ],
    choose=lambda rng, inst: {
        "marker": _marker(rng, inst),
        "color": _pick_color(rng, [inst.facts["background"], inst.facts.get("marker", -1)]),
    },
    check=_connect_check,
    hints={"markers": {"min_markers": 3, "max_markers": 8, "walls": 0.0}, "noise": {"max_side": 10}},
    chain=0.15,
    weight=1.0,
)

_HALOS = {
    "square": ["    draw_border(img, (r - 1, c - 1), (r + 1, c + 1), {c})"],
    "plus": ["    for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):", "        draw_pixel(img, (r + dr, c + dc), {c})"],
    "cross": ["    for dr, dc in ((-1, -1), (-1, 1), (1, -1), (1, 1)):", "        draw_pixel(img, (r + dr, c + dc), {c})"],
    "row": ["    draw_horizontal_line(img, r, {c})"],
    "column": ["    draw_vertical_line(img, c, {c})"],
}

family(
    name="marker_halo",
    doc="around every cell of a marker colour draw a shape (square ring, plus, cross, its row or column) of colour C",
    worlds=("markers", "noise"),
    slots=(color("marker"), choice("shape", *_HALOS), color("color")),
    body=lambda s: [f"for r, c in cells_of(img, {s['marker']}):"] + [
        line.format(c=s["color"]) for line in _HALOS[s["shape"]]],
    choose=lambda rng, inst: {
        "marker": _marker(rng, inst),
        "shape": rng.choice(list(_HALOS)),
        "color": _pick_color(rng, [inst.facts["background"]]),
    },
    hints={"markers": {"walls": 0.3}, "noise": {"max_side": 10}},
    chain=0.15,
    weight=1.0,
)

_SUMMARY = {"most": "most_common_color(img, exclude=(bg,))", "least": "least_common_color(img, exclude=(bg,))"}


def _summary_check(inputs, s):
    for g in inputs:
        counts = np.bincount(g.ravel(), minlength=10)
        counts[_bg(g)] = 0
        present = [int(v) for v in counts if v > 0]
        if len(present) < 2:
            return "one_color"
        if not _unique_extreme(present, max if s["stat"] == "most" else min):
            return "tie"
    return None


family(
    name="summary_color",
    doc="output a k x k grid of the most (or least) common colour other than the background",
    worlds=("noise", "objects", "markers"),
    slots=(choice("stat", *_SUMMARY), choice("size", 1, 2, 3)),
    body=lambda s: ["bg = most_common_color(img)", f"img = create_img(({s['size']}, {s['size']}), {_SUMMARY[s['stat']]})"],
    choose=lambda rng, inst: {"stat": rng.choice(list(_SUMMARY)), "size": rng.choice((1, 1, 2, 3))},
    check=_summary_check,
    hints={"markers": {"two_colors": True, "min_markers": 3, "max_markers": 8}},
    weight=1.0,
)

MIXTURE_WEIGHTS: dict[str, float] = {name: fam.weight for name, fam in FAMILIES.items()}
