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

import functools
import itertools
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import numpy as np

from arc25 import dsl
from arc25.programs.errors import ExecutionError
from arc25.programs.trusted import execute_trusted
from arc25.tasks.worlds import WORLDS, Instance, sample_instance

__all__ = ["BASELINE_FAMILIES", "FAMILIES", "FINISHERS", "Family", "FamilyGenerator", "GateRejection", "MIXTURE_WEIGHTS", "Slot",
           "render", "gate", "family_problems", "ambiguous", "canonicalize", "variants", "reproduces", "run_code", "task_colors", "memo_names", "normalize", "parametric", "sample_family_task", "shortcut", "slot_alternatives"]

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
    # Whether the slot takes part, given the other slots (None: always); an inactive slot holds None.
    when: Callable[[dict], bool] | None = None
    # A colour the program only paints with: nothing reads the cells it paints, and nothing else uses the value.
    # Then another colour reproduces the outputs only when no painted cell shows, and then every colour does: the
    # gate's canonicalisation runs the first earlier colour alone (the audit runs them all: ``exhaustive``).
    paint: bool = False

    def active(self, slots: dict) -> bool:
        return self.when is None or self.when(slots)

    def __post_init__(self):
        if self.kind not in ("color", "choice"):
            raise ValueError(f"slot kind must be 'color' or 'choice', got {self.kind!r}")
        if self.paint and self.kind != "color":
            raise ValueError(f"slot {self.name!r}: only a colour slot can be a paint colour")


def color(name: str, optional: bool = False, when=None, paint: bool = False) -> Slot:
    return Slot(name, "color", ((None,) if optional else ()) + COLORS, when, paint)


def choice(name: str, *values, when=None) -> Slot:
    return Slot(name, "choice", tuple(values), when)


# Whole-grid finishers a chain appends (None first: no step). Each is one line on ``out``.
FINISHERS = {
    None: None,
    "flip_lr": 'out = flip(out, "lr")',
    "flip_ud": 'out = flip(out, "ud")',
    "rotate1": "out = rotate(out, 1)",
    "rotate2": "out = rotate(out, 2)",
    "rotate3": "out = rotate(out, 3)",
    "transpose": "out = transpose(out)",
    "upscale2": "out = upscale(out, 2)",
}
FINISH = Slot("finish", "choice", tuple(FINISHERS))


@dataclass(frozen=True)
class Family:
    """A program template with typed slots and the worlds it draws inputs from."""

    name: str
    doc: str
    worlds: tuple[str, ...]
    slots: tuple[Slot, ...]
    # slot values -> lines that read ``img`` and leave the answer in ``out`` (no def, no return)
    body: Callable[[dict], list[str]]
    choose: Callable[[random.Random, Instance], dict]  # instance -> slot values that can take effect on it
    check: Callable[[list[np.ndarray], dict], str | None] = lambda inputs, s: None  # precondition: None or why not
    hints: dict = field(default_factory=dict)  # world name -> hints for its sampler
    chain: float = 0.0  # share of samples given a finisher step
    weight: float = 1.0
    seeds: tuple[str, ...] = ()  # reference task ids this family generalises
    # The slot an instance most often rules out (a selection key that ties on it): when a draw does not fit, this
    # slot's other values are tried in random order before a fresh draw, so a busy instance is not thrown away.
    fit: str | None = None

    def __post_init__(self):
        unknown = [w for w in self.worlds if w not in WORLDS]
        if unknown or len(self.worlds) < 2:
            raise ValueError(f"family {self.name!r}: needs >= 2 known worlds, got {self.worlds}")
        if self.fit is not None and self.fit not in {slot.name for slot in self.slots}:
            raise ValueError(f"family {self.name!r}: fit slot {self.fit!r} is not one of its slots")

    @property
    def all_slots(self) -> tuple[Slot, ...]:
        return self.slots + ((FINISH,) if self.chain else ())


def render(family: Family, slots: dict) -> str:
    """The canonical code of ``family`` with these slot values."""
    lines = list(family.body(slots))
    finisher = FINISHERS.get(slots.get("finish"))
    if finisher:
        lines.append(finisher)
    return "def task(img):\n" + "".join(f"    {line}\n" for line in lines) + "    return out\n"


class _Named(int):
    """A colour slot's value that a template writes as a name: ``parametric``'s candidates that differ only in
    colours are one code text, compiled once."""

    name: str

    def __new__(cls, value: int, name: str):
        named = super().__new__(cls, value)
        named.name = name
        return named

    def __repr__(self) -> str:
        return self.name

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return format(int(self), spec) if spec else self.name


def parametric(family: Family, slots: dict) -> tuple[str, dict]:
    """``render``'s program with each colour slot's value as a name, and the values of those names.

    For trying many slot values on one task (canonicalisation, the search): ``compile`` is most of a candidate's
    cost, and colour candidates then share one code object. The rendered code (literals) is what a task keeps; the
    gate's last check runs that one.
    """
    shown, params = dict(slots), {}
    for slot in family.all_slots:
        value = slots.get(slot.name)
        if slot.kind == "color" and value is not None:
            name = f"slot_{slot.name}_"
            shown[slot.name], params[name] = _Named(value, name), value
    return render(family, shown), params


def n_steps(family: Family, slots: dict) -> int:
    return 1 + (slots.get("finish") is not None)


# --- shortcuts: programs simpler than any family's -----------------------------------------------------------

_GEOMETRY = (
    lambda g: g, lambda g: np.rot90(g, -1), lambda g: np.rot90(g, 2), lambda g: np.rot90(g, 1),
    lambda g: g[:, ::-1], lambda g: g[::-1], lambda g: g.T, lambda g: np.rot90(g, 2).T,
)


def _same(a: Iterable[np.ndarray], b: Iterable[np.ndarray]) -> bool:
    return all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, b))


def shortcut(inputs: list[np.ndarray], outputs: list[np.ndarray]) -> str | None:
    """The name of a simpler program that reproduces every output, or None.

    identity / geometry (the 8 whole-grid rotations and flips) / color_map (one colour for each colour, all
    pairs) / constant_overlay (the same cells painted the same colours in every output: what any number of
    constant v1 draws but flood fills does, so <= 2 of them in particular).
    """
    for k, transform in enumerate(_GEOMETRY):
        # A generator: a transform is run on the next input only while the earlier ones matched.
        if _same((transform(g) for g in inputs), outputs):
            return "identity" if k == 0 else "geometry"
    if not all(i.shape == o.shape for i, o in zip(inputs, outputs)):
        return None
    # A colour map: every input colour goes to one output colour over all pairs (pairs coded as 10 * in + out).
    pairs = np.unique(np.concatenate([(i.ravel() * 10 + o.ravel()) for i, o in zip(inputs, outputs)]))
    if len(np.unique(pairs // 10)) == len(pairs):
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


def run_code(code: str, inputs: list[np.ndarray], names: dict | None = None,
             params: dict | None = None) -> list[np.ndarray] | None:
    """The program's outputs, or None when it fails; ``params`` are values for the names a ``parametric`` code uses.

    With memoised ``names`` (``memo_names``) a program already run on these very input objects is not run again (a
    gate runs the drawn program to see that it fits, then to gate it, and a second canonicalisation pass retries the
    first pass's candidates)."""
    runs = getattr(names, "runs", None)
    if runs is not None:
        key = (code, tuple(params.items()) if params else (), tuple(map(id, inputs)))
        hit = runs.get(key)
        # The entry holds the inputs themselves, so their ids cannot be reused while it lives.
        if hit is not None and all(a is b for a, b in zip(hit[0], inputs)):
            return hit[1]
    try:
        outputs = execute_trusted(code, inputs, {**names, **params} if params and names else params or names)
    except ExecutionError:
        outputs = None
    if runs is not None:
        runs[key] = (tuple(inputs), outputs)
    return outputs


def reproduces(code: str, inputs: list[np.ndarray], outputs: list[np.ndarray], names: dict | None,
               params: dict | None = None) -> bool:
    """Whether ``code`` gives ``outputs``; the first pair alone rules most candidates out."""
    for k in ([0], range(1, len(inputs))) if len(inputs) > 1 else ([0],):
        part = [inputs[i] for i in k]
        result = run_code(code, part, names, params)
        if result is None or not _same(result, [outputs[i] for i in k]):
            return False
    return True


# Pure DSL functions whose results one gate (or one search task) reuses across its many candidate programs: the
# same grid asked for its colours by every variant of a slot. Results are copied where a program could change them.
# (find_objects has a cache that tasks share, below.)
_MEMO = {
    "most_common_color": None, "least_common_color": None, "colors": list, "cells_of": list,
    "holes": list, "outline": list, "split_by_lines": lambda panels: [p.copy() for p in panels],
}


def _memo_key(value):
    if isinstance(value, np.ndarray):
        return (value.shape, value.dtype.str, value.tobytes())
    if type(value).__name__ == "Object":
        return ("Object", value.cells, value.colors)
    return value


class _MemoNames(dict):
    """DSL names for a program's namespace, plus ``runs``: whole programs' results (see ``run_code``)."""

    runs: dict


@functools.lru_cache(maxsize=1024)
def _objects_of_bytes(data: bytes, shape: tuple, dtype: str, background: int | None, connectivity: int,
                      by_color: bool) -> tuple:
    grid = np.frombuffer(data, dtype=dtype).reshape(shape)
    return tuple(dsl.find_objects(grid, background=background, connectivity=connectivity, by_color=by_color))


def _find_objects_shared(img, background=0, connectivity=4, by_color=True):
    """``find_objects`` remembered across tasks by the grid's bytes: the families' checks and every candidate program
    of a gate ask for the same grids' objects (a world instance also feeds several tasks). Arguments of any type
    but those the templates pass go to the DSL unremembered, so its checks and errors are the DSL's own."""
    if (type(img) is np.ndarray and (background is None or type(background) is int) and type(connectivity) is int
            and type(by_color) is bool):
        return list(_objects_of_bytes(img.tobytes(), img.shape, img.dtype.str, background, connectivity, by_color))
    return dsl.find_objects(img, background, connectivity, by_color)


def memo_names(memo: dict) -> dict:
    """DSL names for ``execute_trusted`` that remember their results in ``memo`` (one dict per task)."""
    def wrap(name, function, copy):
        def call(*args, **kwargs):
            try:
                key = (name, tuple(_memo_key(a) for a in args), tuple(sorted((k, _memo_key(v)) for k, v in kwargs.items())))
                hit = memo.get(key, memo)
            except TypeError:  # an unhashable argument: no memo
                return function(*args, **kwargs)
            if hit is memo:
                hit = memo[key] = function(*args, **kwargs)
            return copy(hit) if copy else hit

        call.__name__ = call.__qualname__ = name
        call.__doc__ = function.__doc__
        return call

    names = _MemoNames((name, wrap(name, getattr(dsl, name), copy)) for name, copy in _MEMO.items())
    names["find_objects"] = _find_objects_shared
    names.runs = {}
    return names


def slot_alternatives(slot: Slot, task_colors: Iterable[int]) -> list:
    """Values of ``slot`` worth trying on a task: every choice; colours present plus the first absent one."""
    if slot.kind == "choice":
        return list(slot.values)
    present = set(task_colors)
    absent = [c for c in COLORS if c not in present][:1]
    return [v for v in slot.values if v is None or v in present or v in absent]


def task_colors(grids: Iterable[np.ndarray]) -> list[int]:
    seen = np.zeros(10, dtype=bool)
    for g in grids:
        seen[np.unique(g)] = True
    return [int(c) for c in np.flatnonzero(seen)]


def normalize(family: Family, slots: dict) -> dict:
    """``slots`` with every inactive slot set to None (so equal programs have equal slots), and a slot that has just
    become active at its first value."""
    out = {}
    for slot in family.all_slots:
        value = slots.get(slot.name)
        if not slot.active(dict(slots, **out)):
            value = None
        elif value is None and None not in slot.values:
            value = slot.values[0]
        out[slot.name] = value
    return out


def variants(family: Family, slots: dict, slot: Slot, colors: list[int]) -> Iterator[dict]:
    """``slots`` with ``slot`` at each of its values in canonical order, each with every combination of the
    conditional slots that value switches on (a slot and its dependents move together: a key that needs a colour
    is tried with each colour)."""
    dependents = [d for d in family.all_slots if d.when is not None and d is not slot]
    for value in slot_alternatives(slot, colors):
        base = normalize(family, dict(slots, **{slot.name: value}))
        active = [d for d in dependents if d.active(base)]
        if slot.when is not None or not active:
            yield base
            continue
        for combo in itertools.product(*(slot_alternatives(d, colors) for d in active)):
            yield normalize(family, dict(base, **{d.name: v for d, v in zip(active, combo)}))


def _reproduces_slots(family: Family, slots: dict, inputs: list[np.ndarray], outputs: list[np.ndarray],
                      names: dict | None) -> bool:
    code, params = parametric(family, slots)
    return reproduces(code, inputs, outputs, names, params)


def canonicalize(family: Family, slots: dict, inputs: list[np.ndarray], outputs: list[np.ndarray],
                 names: dict | None = None, exhaustive: bool = False) -> tuple[dict, int]:
    """Each slot in turn (with its dependents) set to its first variant, in canonical order, that reproduces every
    output.

    Returns the slots and how many changed (the sample's ambiguity before canonicalisation). Repeats until no
    slot changes, at most twice over: a changed slot can free an earlier one. A paint colour (``Slot.paint``) stops
    at its first earlier colour that does not reproduce the outputs (no later one can), unless ``exhaustive``.
    """
    colors = task_colors(itertools.chain(inputs, outputs))
    names = memo_names({}) if names is None else names
    slots = normalize(family, slots)
    changed = 0
    for _ in range(2):
        moved = False
        for slot in family.all_slots:
            if not slot.active(slots):
                continue
            for trial in variants(family, slots, slot, colors):
                if trial == slots:
                    break
                if _reproduces_slots(family, trial, inputs, outputs, names):
                    if not family.check(inputs, trial):
                        slots = trial
                        changed += 1
                        moved = True
                        break
                elif slot.paint and not exhaustive and trial[slot.name] is not None:
                    break
        if not moved:
            break
    return slots, changed


def ambiguous(family: Family, slots: dict, inputs: list[np.ndarray], outputs: list[np.ndarray],
              names: dict | None = None) -> bool:
    """Whether a neighbour of these canonical slots (one slot moved, with its dependents) reproduces every output
    and canonicalises to other slots: two readings of the examples that canonicalisation cannot merge. Every
    colour is tried (``exhaustive``), so a wrong ``Slot.paint`` shows here."""
    colors = task_colors(itertools.chain(inputs, outputs))
    names = memo_names({}) if names is None else names
    for slot in family.all_slots:
        if not slot.active(slots):
            continue
        for trial in variants(family, slots, slot, colors):
            if trial == slots or not _reproduces_slots(family, trial, inputs, outputs, names):
                continue
            if family.check(inputs, trial):
                continue
            if canonicalize(family, trial, inputs, outputs, names, exhaustive=True)[0] != slots:
                return True
    return False


def gate(family: Family, slots: dict, inputs: list[np.ndarray], canonical: bool = True,
         names: dict | None = None) -> tuple[str, list[np.ndarray], dict, int]:
    """Check one sample (see the module doc); return (code, outputs, canonical slots, slots changed)."""
    slots = normalize(family, slots)
    reason = family.check(inputs, slots)
    if reason:
        raise GateRejection(f"precondition:{reason}")
    names = memo_names({}) if names is None else names
    shared, params = parametric(family, slots)
    outputs = run_code(shared, inputs, names, params)
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
        slots, changed = canonicalize(family, slots, inputs, outputs, names)
        reason = family.check(inputs, slots)
        if reason:
            raise GateRejection(f"precondition:{reason}")
    code = render(family, slots)
    again = run_code(code, inputs)  # the literal code, with the plain DSL: what the task keeps
    if again is None or not _same(again, outputs):
        raise GateRejection("not_reproducible")
    return code, outputs, slots, changed


# --- sampling --------------------------------------------------------------------------------------------------


def _choose_finisher(rng: random.Random, family: Family) -> str | None:
    if family.chain and rng.random() < family.chain:
        return rng.choice([k for k in FINISHERS if k is not None])
    return None


CHOOSE_TRIES = 4


def _choose_fitting(rng: random.Random, family: Family, inst: Instance, names: dict, rejections: Counter | None) -> dict:
    """Slot values for the instance: up to CHOOSE_TRIES draws of ``choose`` (each followed, for a family with a
    ``fit`` slot, by that slot's other values in random order), keeping the first whose precondition holds and whose
    code runs on every input (a key with a tie on this instance is redrawn, not the instance). Redraws are counted
    as ``<family>/redraw`` (not rejections: the gate has not seen them); when nothing fits, the last draw goes to
    the gate, which rejects it."""
    def fits(slots: dict) -> bool:
        if family.check(inst.grids, slots):
            return False
        code, params = parametric(family, slots)
        return run_code(code, inst.grids, names, params) is not None

    fit = next((s for s in family.slots if s.name == family.fit), None)
    slots: dict = {}
    for _ in range(CHOOSE_TRIES):
        drawn = family.choose(rng, inst)
        if family.chain:
            drawn["finish"] = _choose_finisher(rng, family)
        slots = normalize(family, drawn)
        if fits(slots):
            return slots
        if rejections is not None:
            rejections[f"{family.name}/redraw"] += 1
        if fit is None:
            continue
        # Not the "off" value: it removes the branch the draw chose, so it is for canonicalisation to find.
        others = [v for v in fit.values if v is not None and v != drawn[fit.name]]
        rng.shuffle(others)
        for value in others:
            # From the raw draw, so a slot the new value switches on has the value choose gave it.
            candidate = normalize(family, dict(drawn, **{fit.name: value}))
            if fits(candidate):
                return candidate
            if rejections is not None:
                rejections[f"{family.name}/redraw"] += 1
    return slots


def sample_family_task(rng: random.Random, family: Family, n_inputs: int = 3, rejections: Counter | None = None,
                       canonical: bool = True, instance: Instance | None = None, max_side: int = 30):
    """One gated task of ``family`` (a ``generators.Task``); ``instance`` (a world instance) is tried first."""
    from arc25.tasks.generators import Task

    for attempt in range(MAX_ATTEMPTS):
        if instance is not None and attempt == 0 and instance.world in family.worlds:
            inst = instance
        else:
            world = rng.choice(family.worlds)
            hints = family.hints.get(world)
            if max_side < 30:  # smaller grids asked for: worlds that size their grids keep under it
                hints = dict(hints or {}, max_side=min((hints or {}).get("max_side", max_side), max_side))
            inst = sample_instance(rng, world, n_inputs, hints)
        names = memo_names({})
        slots = _choose_fitting(rng, family, inst, names, rejections)
        try:
            code, outputs, slots, changed = gate(family, slots, inst.grids, canonical, names)
            if max(max(g.shape) for g in [*inst.grids, *outputs]) > max_side:
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
    raise RuntimeError(f"family {family.name!r} produced no valid task in {MAX_ATTEMPTS} attempts"
                       + (f" (max_side {max_side} may be too small for its grids)" if max_side < 30 else ""))


def family_problems(family: Family, n: int = 5, seed: int = 0, n_inputs: int = 3) -> list[str]:
    """Check ``n`` samples of ``family`` against the gate's properties, independently of the gate's own code path;
    each problem is one line, ``<family>: <check> (sample i)``. Empty when the family keeps its gate."""
    from arc25.programs.grids import validate_grid

    rng = random.Random(seed)
    problems = []
    worlds = Counter()
    for i in range(n):
        try:
            task = sample_family_task(rng, family, n_inputs)
        except RuntimeError as err:
            return [f"{family.name}: sampling ({err})"]
        worlds[task.meta["world"]] += 1
        where = f"(sample {i})"
        try:
            again = execute_trusted(task.code, task.inputs)
            if not _same(again, task.outputs) or not _same(execute_trusted(task.code, task.inputs), again):
                problems.append(f"{family.name}: deterministic {where}")
            for grid in again:
                validate_grid(grid)
        except (ExecutionError, ValueError) as err:
            problems.append(f"{family.name}: runs {where}: {err}")
            continue
        if _same(task.inputs, task.outputs):
            problems.append(f"{family.name}: non_trivial {where}")
        if all(o.shape == task.outputs[0].shape and np.array_equal(o, task.outputs[0]) for o in task.outputs):
            problems.append(f"{family.name}: input_dependent {where}")
        simpler = shortcut(task.inputs, task.outputs)
        if simpler:
            problems.append(f"{family.name}: no_shortcut {where}: {simpler}")
        if render(family, task.meta["slots"]) != task.code:
            problems.append(f"{family.name}: code_is_the_rendered_slots {where}")
        if canonicalize(family, task.meta["slots"], task.inputs, task.outputs, exhaustive=True)[0] != task.meta["slots"]:
            problems.append(f"{family.name}: canonical {where}")
        if ambiguous(family, task.meta["slots"], task.inputs, task.outputs):
            problems.append(f"{family.name}: identifiable {where}")
    return problems


@dataclass(frozen=True)
class FamilyGenerator:
    """A family as a mixture member: what ``generators.task_stream`` samples through ``sample``."""

    family: Family
    n_inputs: int = 3
    max_side: int = 30
    # Share of samples that reuse the previous task's world instance (when this family accepts that world).
    reuse: float = 0.25
    # What a guesser that reads no grid would pick a function name from (token_classes.guess_baselines): the DSL.
    functions: tuple[str, ...] = field(default_factory=lambda: tuple(dsl.__all__))

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


def _objects(grid: np.ndarray, connectivity: int = 4, by_color: bool = True) -> tuple:
    """The grid's objects on its most common colour (from the cache the gate's programs share)."""
    return _objects_of_bytes(grid.tobytes(), grid.shape, grid.dtype.str, _bg(grid), connectivity, by_color)


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
    return [c for c in task_colors(inst.grids) if c not in exclude]


FAMILIES: dict[str, Family] = {}


def family(**kwargs) -> Family:
    fam = Family(**kwargs)
    if fam.name in FAMILIES:
        raise ValueError(f"family {fam.name!r} registered twice")
    FAMILIES[fam.name] = fam
    return fam


# --- the families ----------------------------------------------------------------------------------------------
# Bodies follow the references' style: read ``img``, paint a copy ``out`` (or build a new grid), so what a step
# reads never depends on what it already painted. ``bg`` is the most common colour, re-derived from each grid.

BG = "bg = most_common_color(img)"
COPY = "out = img.copy()"


def _conn(s: dict, key: str = "connectivity") -> str:
    return ", connectivity=8" if s.get(key) == 8 else ""


_EXTREME = {"largest": ("max", "o.size"), "smallest": ("min", "o.size"), "tallest": ("max", "o.height"),
            "widest": ("max", "o.width"), "lowest": ("max", "o.bottom"), "highest": ("min", "o.top"),
            "largest_box": ("max", "o.height * o.width")}


# The same keys as values, for the checks (the code above is what the programs say).
_EXTREME_VALUE = {"o.size": lambda o: o.size, "o.height": lambda o: o.height, "o.width": lambda o: o.width,
                  "o.bottom": lambda o: o.bottom, "o.top": lambda o: o.top,
                  "o.height * o.width": lambda o: o.height * o.width}


def _extreme_check(key_slot: str, by_color: bool = True):
    def check(inputs, s):
        pick, attr = _EXTREME[s[key_slot]]
        for g in inputs:
            objs = _objects(g, connectivity=s.get("connectivity") or 4, by_color=s.get("by_color", by_color))
            values = [_EXTREME_VALUE[attr](o) for o in objs]
            if len(values) < 2 or not _unique_extreme(values, max if pick == "max" else min):
                return "tie"
        return None

    return check


family(
    name="recolor_extreme",
    doc="recolour the object that is extreme by a key (largest, smallest, tallest...) with colour C",
    worlds=("objects", "holes", "drawn"),
    slots=(choice("key", *_EXTREME), choice("connectivity", 4, 8), color("color", paint=True)),
    body=lambda s: [
        BG, COPY,
        f"target = {_EXTREME[s['key']][0]}(find_objects(img, background=bg{_conn(s)}), "
        f"key=lambda o: {_EXTREME[s['key']][1]})",
        f"draw_object(out, target, color={s['color']})",
    ],
    choose=lambda rng, inst: {"key": rng.choice(list(_EXTREME)), "connectivity": rng.choice((4, 8)),
                              "color": _pick_color(rng, [inst.facts["background"]])},
    check=_extreme_check("key"),
    chain=0.25,
    weight=1.5,
    fit="key",
)

_SELECT = {
    "largest": "max(objs, key=lambda o: o.size)",
    "smallest": "min(objs, key=lambda o: o.size)",
    "unique_color": "unique_by(objs, lambda o: o.color)",
    "unique_size": "unique_by(objs, lambda o: o.size)",
    "unique_shape": "unique_by(objs, lambda o: o.shape)",
    "most_of": "max(objs, key=lambda o: o.colors.count({c}))",
}


def _crop_check(inputs, s):
    if s["select"] == "most_of" and s["by_color"]:
        return "one_color_objects"  # most cells of C picks among one-colour objects only by colour and size
    if s["select"] in ("largest", "smallest"):
        for g in inputs:
            sizes = [o.size for o in _objects(g, connectivity=s["connectivity"], by_color=s["by_color"])]
            if len(sizes) < 2 or not _unique_extreme(sizes, max if s["select"] == "largest" else min):
                return "tie"
    if s["select"] == "most_of":
        for g in inputs:
            counts = [o.colors.count(s["of_color"]) for o in _objects(g, connectivity=s["connectivity"], by_color=s["by_color"])]
            if len(counts) < 2 or not _unique_extreme(counts, max):
                return "tie"
    return None


family(
    name="crop_object",
    doc="crop the box (or the sprite) of the one object picked by a key: largest, smallest, unique colour/size/shape, "
        "most cells of C",
    worlds=("objects", "sprites", "drawn"),
    slots=(choice("select", *_SELECT), color("of_color", when=lambda s: s["select"] == "most_of"),
           choice("by_color", True, False), choice("connectivity", 4, 8), choice("cut", "crop", "sprite")),
    body=lambda s: [
        BG,
        f"objs = find_objects(img, background=bg{_conn(s)}{'' if s['by_color'] else ', by_color=False'})",
        f"target = {_SELECT[s['select']].format(c=s['of_color'])}",
        "out = crop(img, *target.box)" if s["cut"] == "crop" else "out = target.sprite(bg)",
    ],
    choose=lambda rng, inst: {
        "select": rng.choice(list(_SELECT)) if inst.world == "sprites" else rng.choice(list(_SELECT)[:-1]),
        "of_color": rng.choice(_present(inst, [inst.facts["background"]]) or [1]),
        "by_color": inst.world != "sprites", "connectivity": rng.choice((4, 8)), "cut": rng.choice(("crop", "sprite"))},
    check=_crop_check,
    hints={"sprites": {"min_sprites": 2, "max_sprites": 3}, "objects": {"min_objects": 3}},
    chain=0.25,
    weight=2.0,
    seeds=("1f85a75f", "23b5c85d", "be94b721", "8efcae92", "ae4f1146", "e50d258f"),
    fit="select",
)

_BOX_OF = {
    "least": "least_common_color(img)",
    "least_except_bg": "least_common_color(img, exclude=(bg,))",
    "color": "{c}",
}

family(
    name="crop_color_box",
    doc="crop the box of the cells of one colour (the rarest, the rarest but the background, or C), or of all content; "
        "optionally only its inside",
    worlds=("objects", "holes", "noise"),
    slots=(choice("of", "content", *_BOX_OF), color("color", when=lambda s: s["of"] == "color"),
           choice("inset", 0, 1, when=lambda s: s["of"] != "content")),
    body=lambda s: [BG, "out = crop_to_content(img, bg)"] if s["of"] == "content" else [
        BG,
        f"(top, left), (bottom, right) = object_from_mask(img, img == {_BOX_OF[s['of']].format(c=s['color'])}).box",
        "out = crop(img, (top, left), (bottom, right))" if not s["inset"] else
        "out = crop(img, (top + 1, left + 1), (bottom - 1, right - 1))",
    ],
    choose=lambda rng, inst: {"of": rng.choice(("content",) + tuple(_BOX_OF)),
                              "color": rng.choice(_present(inst, [inst.facts["background"]]) or [1]),
                              "inset": 1 if inst.world == "holes" and rng.random() < 0.5 else 0},
    hints={"objects": {"min_objects": 1, "max_objects": 3}, "noise": {"max_side": 12}},
    chain=0.25,
    weight=1.5,
    seeds=("1cf80156", "c909285e", "0b148d64", "1c786137"),
)

_RAY_DIRS = tuple((d,) for d in DIRECTIONS8) + (("left", "right"), ("up", "down"), DIRECTIONS4, DIRECTIONS8[4:])


def _ray_body(s):
    dirs = s["directions"]
    stop = "" if s["stop"] is None else f", stop={s['stop']}"
    if s["marker"] is None:
        lines = [BG, COPY, "for m in colors(img, exclude=(bg,)):", "    for p in cells_of(img, m):"]
        indent, paint = "        ", "m" if s["color"] is None else s["color"]
    else:
        lines = [COPY, f"for p in cells_of(img, {s['marker']}):"]
        indent, paint = "    ", s["marker"] if s["color"] is None else s["color"]
    if len(dirs) == 1:
        lines.append(f'{indent}draw_ray(out, p, "{dirs[0]}", {paint}{stop})')
    else:
        lines.append(indent + "for d in (" + ", ".join(f'"{d}"' for d in dirs) + "):")
        lines.append(f"{indent}    draw_ray(out, p, d, {paint}{stop})")
    return lines


family(
    name="marker_rays",
    doc="draw rays from every cell of a marker colour (or of every colour) in some directions, in its colour or C, "
        "stopping at a colour or the edge",
    worlds=("markers", "noise", "objects"),
    slots=(color("marker", optional=True), choice("directions", *_RAY_DIRS), color("color", optional=True),
           color("stop", optional=True)),
    body=_ray_body,
    choose=lambda rng, inst: {
        "marker": _marker(rng, inst) if rng.random() < 0.8 else None,
        "directions": rng.choice(_RAY_DIRS),
        "color": None if rng.random() < 0.5 else _pick_color(rng, [inst.facts["background"]]),
        "stop": inst.facts["wall"] if "wall" in inst.facts and rng.random() < 0.6 else None,
    },
    hints={"noise": {"max_side": 12}, "objects": {"max_objects": 3}},
    chain=0.15,
    weight=2.0,
    seeds=("d037b0a7",),
)

family(
    name="fill_holes",
    doc="paint the enclosed background cells of every object (or of one colour's objects) with colour C",
    worlds=("holes", "objects", "drawn"),
    slots=(color("color", paint=True), choice("connectivity", 4, 8), color("only", optional=True)),
    body=lambda s: [
        BG, COPY,
        f"for obj in find_objects(img, background=bg{_conn(s)}):",
        *([f"    if obj.color == {s['only']}:", f"        fill(out, [p for p in holes(obj) if img[p] == bg], {s['color']})"]
          if s["only"] is not None else [f"    fill(out, [p for p in holes(obj) if img[p] == bg], {s['color']})"]),
    ],
    choose=lambda rng, inst: {
        "color": _pick_color(rng, [inst.facts["background"]]), "connectivity": rng.choice((4, 8)),
        "only": rng.choice(inst.facts["colors"]) if rng.random() < 0.3 else None,
    },
    hints={"objects": {"kinds": ("hollow", "hollow", "blob", "rect")}},
    chain=0.2,
    weight=1.5,
    seeds=("00d62c1b",),
)

family(
    name="fill_box",
    doc="paint the background cells inside every object's bounding box with colour C",
    worlds=("objects", "holes"),
    slots=(color("color", paint=True), choice("connectivity", 4, 8)),
    body=lambda s: [
        BG, COPY,
        f"for obj in find_objects(img, background=bg{_conn(s)}):",
        "    (top, left), (bottom, right) = obj.box",
        "    fill(out, [(r, c) for r in range(top, bottom + 1) for c in range(left, right + 1) if img[r, c] == bg], "
        f"{s['color']})",
    ],
    choose=lambda rng, inst: {"color": _pick_color(rng, [inst.facts["background"]]), "connectivity": rng.choice((4, 8))},
    hints={"objects": {"kinds": ("blob", "blob", "line", "hollow")}},
    chain=0.2,
    weight=1.0,
    seeds=("3aa6fb7a", "60b61512", "6d75e8bb"),
)

_MIRRORS = (("lr",), ("ud",), ("lr", "ud"), ("ud", "lr"))


def _mirror_body(s):
    lines = [f"box = object_from_mask(img, img == {s['unknown']}).box"] if s["output"] == "masked_box" else []
    lines.append(f'out = np.where(img == {s["unknown"]}, flip(img, "{s["axes"][0]}"), img)')
    for axis in s["axes"][1:]:
        lines.append(f'out = np.where(out == {s["unknown"]}, flip(out, "{axis}"), out)')
    if s["output"] == "masked_box":
        lines.append("out = crop(out, *box)")
    return lines


family(
    name="mirror_complete",
    doc="replace the cells of the unknown colour with their mirror image across the grid's axes; optionally output "
        "only what they hid",
    worlds=("symmetric", "noise"),
    slots=(color("unknown"), choice("axes", *_MIRRORS), choice("output", "whole", "masked_box")),
    body=_mirror_body,
    choose=lambda rng, inst: {
        "unknown": inst.facts["unknown"] if "unknown" in inst.facts else rng.choice(inst.facts["colors"]),
        "axes": {"lr": ("lr",), "ud": ("ud",)}.get(inst.facts.get("axes"), rng.choice(_MIRRORS)),
        "output": rng.choice(("whole", "masked_box")),
    },
    weight=1.5,
    seeds=("9ecd008a", "dc0a314f", "ff805c23"),
)

family(
    name="complete_pattern",
    doc="fill the unknown cells from the grid's period; optionally output only the box the unknown cells covered",
    worlds=("periodic", "symmetric"),
    slots=(color("unknown"), choice("output", "whole", "masked_box")),
    body=lambda s: [f"out = complete_pattern(img, {s['unknown']})"] if s["output"] == "whole" else [
        f"box = object_from_mask(img, img == {s['unknown']}).box",
        f"out = crop(complete_pattern(img, {s['unknown']}), *box)",
    ],
    choose=lambda rng, inst: {"unknown": inst.facts["unknown"], "output": rng.choice(("whole", "masked_box"))},
    weight=1.0,
    seeds=("f9012d9b",),
)

_PANEL_KEYS = {
    "most_of": "max(panels, key=lambda p: color_count(p, {c}))",
    "fewest_of": "min(panels, key=lambda p: color_count(p, {c}))",
    "most_colors": "max(panels, key=lambda p: len(colors(p)))",
    "fewest_colors": "min(panels, key=lambda p: len(colors(p)))",
    "unique_colors": "unique_by(panels, lambda p: len(colors(p)))",
    "unique_pattern": "unique_by(panels, lambda p: (p == most_common_color(img)).tobytes())",
}


def _panel_check(inputs, s):
    if s["key"].startswith("unique"):
        return None  # unique_by raises unless exactly one panel is unique
    for g in inputs:
        panels = dsl.split_by_lines(g)
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
    doc="split the grid by its separator lines and output the panel picked by a key (most/fewest cells of C, "
        "most/fewest colours, the odd one out)",
    worlds=("panels", "lattice"),
    slots=(choice("key", *_PANEL_KEYS), color("color", when=lambda s: s["key"] in ("most_of", "fewest_of"))),
    body=lambda s: ["panels = split_by_lines(img)", "out = " + _PANEL_KEYS[s["key"]].format(c=s["color"])],
    choose=lambda rng, inst: {"key": rng.choice(list(_PANEL_KEYS)),
                              "color": rng.choice(inst.facts.get("colors") or [1])},
    check=_panel_check,
    hints={"lattice": {"layout": (1, 3)}},
    chain=0.2,
    weight=1.5,
    seeds=("2dc579da",),
    fit="key",
)

_OVERLAY = {"and": "(a != {b}) & (b != {b})", "or": "(a != {b}) | (b != {b})", "xor": "(a != {b}) != (b != {b})",
            "nor": "(a == {b}) & (b == {b})", "left_only": "(a != {b}) & (b == {b})"}
_SPLITS = {"lines": "panels = split_by_lines(img)", "halves_lr": "panels = split(img, 1, 2)",
           "halves_ud": "panels = split(img, 2, 1)", "quads": "panels = split(img, 2, 2)"}


def _split_choice(rng, inst, quads: bool = False) -> str:
    if inst.world in ("panels", "lattice"):
        return "lines"
    options = [k for k, (r, c) in (("halves_lr", (1, 2)), ("halves_ud", (2, 1)), ("quads", (2, 2)))
               if (quads or k != "quads") and all(g.shape[0] % r == 0 and g.shape[1] % c == 0 for g in inst.grids)]
    return rng.choice(options) if options else "halves_lr"


def _n_panels(grid: np.ndarray, split: str) -> int:
    if split == "lines":
        return len(dsl.split_by_lines(grid))
    rows, cols = {"halves_lr": (1, 2), "halves_ud": (2, 1), "quads": (2, 2)}[split]
    return rows * cols if grid.shape[0] % rows == 0 and grid.shape[1] % cols == 0 else 0


def _overlay_check(inputs, s):
    return None if all(_n_panels(g, s["split"]) == 2 for g in inputs) else "not_two_panels"


family(
    name="panel_overlay",
    doc="cut the grid into two panels and paint C where a boolean combination of their non-background cells holds",
    worlds=("panels", "noise"),
    slots=(choice("split", *list(_SPLITS)[:3]), choice("op", *_OVERLAY), color("background"), color("color", paint=True)),
    body=lambda s: [
        _SPLITS[s["split"]], "a, b = panels",
        f"out = create_img(a.shape, {s['background']})",
        f"fill(out, {_OVERLAY[s['op']].format(b=s['background'])}, {s['color']})",
    ],
    choose=lambda rng, inst: {"split": _split_choice(rng, inst), "op": rng.choice(list(_OVERLAY)),
                              "background": inst.facts["background"],
                              "color": _pick_color(rng, [inst.facts["background"]])},
    check=_overlay_check,
    hints={"panels": {"layout": (1, 2), "same_panel_size": True},
           "noise": {"min_side": 4, "max_side": 10, "multiple_of": 2}},
    weight=2.0,
    seeds=("0520fde7", "1b2d62fb", "3428a4f5", "6430c8c4", "94f9d214", "99b1bc43", "ce4f8723", "dae9d2b5",
           "f2829549", "fafffa47"),
)

_ORDERS = tuple(p for n in (2, 3, 4) for p in itertools.permutations(range(n)))


def _stack_check(inputs, s):
    return None if all(_n_panels(g, s["split"]) == len(s["order"]) for g in inputs) else "panel_count"


def _stack_choose(rng, inst):
    split = _split_choice(rng, inst, quads=True)
    n = _n_panels(inst.grids[0], split) or 2
    return {"split": split, "order": tuple(rng.sample(range(n), n)), "background": inst.facts["background"]}


family(
    name="panel_stack",
    doc="cut the grid into panels and stack them in an order, each one's background cells letting the ones below show",
    worlds=("panels", "noise"),
    slots=(choice("split", *_SPLITS), choice("order", *_ORDERS), color("background")),
    body=lambda s: [
        _SPLITS[s["split"]],
        f"out = panels[{s['order'][0]}].copy()",
        f"for k in {tuple(s['order'][1:])}:",
        f"    paste(out, panels[k], (0, 0), transparent={s['background']})",
    ],
    choose=_stack_choose,
    check=_stack_check,
    hints={"panels": {"same_panel_size": True}, "noise": {"min_side": 4, "max_side": 10, "multiple_of": 2}},
    weight=1.5,
    seeds=("75b8110e", "a68b268e", "cf98881b", "bc1d5164", "e98196ab"),
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
    slots=(choice("count", *_COUNTS), choice("orient", "row", "column"), color("color", paint=True)),
    body=lambda s: [
        BG,
        f"n = {_COUNTS[s['count']]}",
        f"out = create_img({'(1, n)' if s['orient'] == 'row' else '(n, 1)'}, {s['color']})",
    ],
    choose=lambda rng, inst: {"count": rng.choice(list(_COUNTS)), "orient": rng.choice(("row", "column")),
                              "color": rng.randrange(10)},
    hints={"markers": {"min_markers": 1, "max_markers": 6, "walls": 0.0}, "noise": {"max_side": 8}},
    weight=1.0,
)


def _ranking_check(inputs, s):
    for g in inputs:
        counts = np.bincount(g.ravel(), minlength=10)
        counts[_bg(g)] = 0
        present = [int(v) for v in counts if v > 0]
        if len(present) < 2 or len(set(present)) != len(present):
            return "tie"
    return None


family(
    name="color_ranking",
    doc="list the colours other than the background by how many cells they have, as a column (or row)",
    worlds=("noise", "objects"),
    slots=(choice("order", "most_first", "fewest_first"), choice("orient", "column", "row")),
    body=lambda s: [
        BG,
        f"ranked = sorted(colors(img, exclude=(bg,)), key=lambda c: {'-' if s['order'] == 'most_first' else ''}"
        "color_count(img, c))",
        f"out = create_img({'(len(ranked), 1)' if s['orient'] == 'column' else '(1, len(ranked))'})",
        "for i, c in enumerate(ranked):",
        f"    draw_pixel(out, {'(i, 0)' if s['orient'] == 'column' else '(0, i)'}, c)",
    ],
    choose=lambda rng, inst: {"order": rng.choice(("most_first", "fewest_first")), "orient": rng.choice(("column", "row"))},
    check=_ranking_check,
    hints={"objects": {"n_colors": 3, "min_objects": 4, "max_objects": 6, "vary_colors": True},
           "noise": {"min_colors": 2, "skew": True, "vary_colors": True}},
    weight=1.0,
    seeds=("f8ff0b80",),
)

_GRAVITY_ORDER = {"down": "-o.bottom", "up": "o.top", "left": "o.left", "right": "-o.right"}

family(
    name="gravity",
    doc="move every object (or one colour's) in a direction until it touches the wall or another object, nearest "
        "the wall first",
    worlds=("objects", "markers", "drawn"),
    slots=(choice("direction", *DIRECTIONS4), color("only", optional=True)),
    body=lambda s: [
        BG, COPY,
        f"for o in sorted(find_objects(img, background=bg), key=lambda o: {_GRAVITY_ORDER[s['direction']]}):",
        *([f"    if o.color == {s['only']}:", "        erase_object(out, o, bg)",
           f'        draw_object(out, move_until_contact(o, "{s["direction"]}", out, bg))'] if s["only"] is not None else
          ["    erase_object(out, o, bg)", f'    draw_object(out, move_until_contact(o, "{s["direction"]}", out, bg))']),
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
    body=lambda s: (["out = crop_to_content(img, most_common_color(img))"] if s["crop"] else ["out = img"]) + [
        f"out = upscale(out, {s['factor']})"],
    choose=lambda rng, inst: {"crop": inst.world == "sprites", "factor": rng.choice((2, 3, 4))},
    hints={"sprites": {"min_sprites": 1, "max_sprites": 1, "max_side": 9}},
    chain=0.2,
    weight=1.0,
    seeds=("9172f3a0", "c59eb873"),
)

family(
    name="downscale",
    doc="shrink the grid by a factor k, each k x k block becoming its most common colour",
    worlds=("blocks", "small"),
    slots=(choice("factor", 2, 3, 4),),
    body=lambda s: [f"out = downscale(img, {s['factor']})"],
    choose=lambda rng, inst: {"factor": inst.facts.get("factor") or 2},
    hints={"small": {"max_side": 8, "multiple_of": 2}},
    chain=0.2,
    weight=0.7,
    seeds=("5614dbcf",),
)

_TILES = {
    "tile12": ["out = tile(out, 1, 2)"], "tile21": ["out = tile(out, 2, 1)"], "tile22": ["out = tile(out, 2, 2)"],
    "tile33": ["out = tile(out, 3, 3)"],
    "mirror_right": ['out = concat(out, flip(out, "lr"), "right")'],
    "mirror_left": ['out = concat(flip(out, "lr"), out, "right")'],
    "mirror_below": ['out = concat(out, flip(out, "ud"), "down")'],
    "mirror_above": ['out = concat(flip(out, "ud"), out, "down")'],
    "mirror4": ['out = concat(out, flip(out, "lr"), "right")', 'out = concat(out, flip(out, "ud"), "down")'],
    "pinwheel": ['out = concat(out, rotate(out, 1), "right")', 'out = concat(out, rotate(out, 2), "down")'],
}

family(
    name="tile_mirror",
    doc="repeat the grid (or its content) as tiles, or put mirror or rotated copies beside it",
    worlds=("small", "sprites"),
    slots=(choice("crop", False, True), choice("layout", *_TILES)),
    body=lambda s: (["out = crop_to_content(img, most_common_color(img))"] if s["crop"] else ["out = img"]) + _TILES[s["layout"]],
    choose=lambda rng, inst: {"crop": inst.world == "sprites", "layout": rng.choice(list(_TILES))},
    hints={"sprites": {"min_sprites": 1, "max_sprites": 1, "max_side": 9}},
    chain=0.2,
    weight=1.5,
    seeds=("3af2c5a8", "46442a0e", "4c4377d9", "62c24649", "67e8384a", "6d0aefbc", "6fa7a44f", "7fe24cdd",
           "8be77c9e", "a416b8f3", "c9e6f938", "28bf18c6"),
)

_FRACTAL = {"not_zero": "img[r, c] != 0", "most_common": "img[r, c] == most_common_color(img)", "color": "img[r, c] == {c}"}

family(
    name="fractal",
    doc="blow the grid up into copies of itself, one where the small grid holds a colour (any, the commonest, or C)",
    worlds=("small", "noise"),
    slots=(choice("where", *_FRACTAL), color("color", when=lambda s: s["where"] == "color")),
    body=lambda s: [
        "h, w = img.shape",
        "out = create_img((h * h, w * w))",
        "for r in range(h):",
        "    for c in range(w):",
        f"        if {_FRACTAL[s['where']].format(c=s['color'])}:",
        "            paste(out, img, (r * h, c * w))",
    ],
    choose=lambda rng, inst: {"where": rng.choice(list(_FRACTAL)),
                              "color": rng.choice(task_colors(inst.grids))},
    hints={"small": {"max_side": 4}, "noise": {"min_side": 3, "max_side": 4}},
    weight=1.0,
    seeds=("007bbfb7", "c3e719e8", "cce03e0d"),
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
    slots=(choice("property", *_PROPERTIES), color("color", paint=True)),
    body=lambda s: [
        BG, COPY,
        "for o in find_objects(img, background=bg):",
        *([f"    if {_PROPERTIES[s['property']]}:", f"        draw_object(out, o, color={s['color']})"]
          if s["property"] else [f"    draw_object(out, o, color={s['color']})"]),
    ],
    choose=lambda rng, inst: {"property": rng.choice([p for p in _PROPERTIES if p]),
                              "color": _pick_color(rng, [inst.facts["background"]])},
    hints={"objects": {"min_objects": 3, "max_objects": 6}},
    chain=0.2,
    weight=2.0,
    fit="property",
)

family(
    name="outline_objects",
    doc="paint the outside neighbours (4- or 8-) of every object (or of one colour's objects) with colour C",
    worlds=("objects", "markers", "holes"),
    slots=(color("color", paint=True), choice("diagonal", False, True), color("only", optional=True)),
    body=lambda s: [
        BG, COPY,
        "for o in find_objects(img, background=bg):",
        *([f"    if o.color == {s['only']}:", f"        fill(out, outline(o, diagonal={s['diagonal']}), {s['color']})"]
          if s["only"] is not None else [f"    fill(out, outline(o, diagonal={s['diagonal']}), {s['color']})"]),
    ],
    choose=lambda rng, inst: {"color": _pick_color(rng, [inst.facts["background"]]), "diagonal": rng.random() < 0.5,
                              "only": rng.choice(inst.facts.get("colors") or [inst.facts.get("marker", 1)])
                              if rng.random() < 0.3 else None},
    hints={"objects": {"max_objects": 4}, "markers": {"walls": 0.0}},
    chain=0.15,
    weight=1.0,
    seeds=("4258a5f9",),
)

family(
    name="box_objects",
    doc="draw a rectangle border of colour C one cell around the box of every object (or the largest/smallest)",
    worlds=("objects", "sprites", "markers"),
    slots=(choice("which", "all", "largest", "smallest"), color("color", paint=True)),
    body=lambda s: [
        BG, COPY,
        *(["for o in find_objects(img, background=bg, by_color=False):"] if s["which"] == "all" else [
            f"for o in [{'max' if s['which'] == 'largest' else 'min'}(find_objects(img, background=bg, by_color=False), "
            "key=lambda o: o.size)]:"]),
        f"    draw_border(out, (o.top - 1, o.left - 1), (o.bottom + 1, o.right + 1), {s['color']})",
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
        BG, COPY,
        f"for o in find_objects(img, background=bg{_conn(s)}):",
        f"    if o.size <= {s['max_size']}:",
        "        erase_object(out, o, bg)",
    ],
    choose=lambda rng, inst: {"max_size": rng.choice((1, 1, 2, 3)), "connectivity": rng.choice((4, 8))},
    hints={"noise": {"min_side": 6}},
    chain=0.15,
    weight=1.0,
)


def _connect_body(s):
    if s["marker"] is None:
        lines = [BG, COPY, "for m in colors(img, exclude=(bg,)):", "    points = cells_of(img, m)"]
        indent, paint = "    ", "m" if s["color"] is None else s["color"]
    else:
        lines = [BG, COPY, f"points = cells_of(img, {s['marker']})"]
        indent, paint = "", s["marker"] if s["color"] is None else s["color"]
    lines += [
        f"{indent}for p in points:",
        f"{indent}    for q in points:",
        f"{indent}        if p < q and (p[0] == q[0] or p[1] == q[1]):",
        f"{indent}            draw_line(out, p, q, {paint})",
    ]
    if s["keep"]:
        lines.append("out = np.where(img != bg, img, out)")
    return lines


family(
    name="connect_markers",
    doc="join every two cells of a marker colour (or of each colour) that share a row or column with a line of their "
        "colour or C; optionally only over the background",
    worlds=("markers", "noise"),
    slots=(color("marker", optional=True), color("color", optional=True, paint=True), choice("keep", False, True)),
    body=_connect_body,
    choose=lambda rng, inst: {
        "marker": _marker(rng, inst) if rng.random() < 0.8 else None,
        "color": _pick_color(rng, [inst.facts["background"]]) if rng.random() < 0.6 else None,
        "keep": rng.random() < 0.6,
    },
    hints={"markers": {"min_markers": 3, "max_markers": 8, "walls": 0.3}, "noise": {"max_side": 10}},
    chain=0.15,
    weight=1.5,
    seeds=("253bf280", "dbc1a6ce", "ded97339", "22eb0ac0"),
)

_HALOS = {
    "ring": "[(r + dr, c + dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc]",
    "plus": "[(r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)]",
    "cross": "[(r - 1, c - 1), (r - 1, c + 1), (r + 1, c - 1), (r + 1, c + 1)]",
}


def _halo_body(s):
    lines = [BG, COPY, f"for r, c in cells_of(img, {s['marker']}):",
             f"    fill(out, {_HALOS[s['shape']]}, {s['color']})"]
    if s["marker2"] is not None:
        lines += [f"for r, c in cells_of(img, {s['marker2']}):", f"    fill(out, {_HALOS[s['shape2']]}, {s['color2']})"]
    if s["keep"]:
        lines.append("out = np.where(img != bg, img, out)")
    return lines


def _halo_choose(rng, inst):
    marker = _marker(rng, inst)
    second = inst.facts.get("second") if rng.random() < 0.4 else None
    return {"marker": marker, "shape": rng.choice(list(_HALOS)), "color": _pick_color(rng, [inst.facts["background"]]),
            "keep": rng.random() < 0.5, "marker2": second, "shape2": rng.choice(list(_HALOS)),
            "color2": _pick_color(rng, [inst.facts["background"]])}


def _halo_check(inputs, s):
    return "same_marker" if s["marker2"] == s["marker"] else None


family(
    name="marker_halo",
    doc="around every cell of a marker colour paint a ring, plus or cross of colour C (and another for a second "
        "marker); optionally only over the background",
    worlds=("markers", "noise"),
    slots=(color("marker"), choice("shape", *_HALOS), color("color", paint=True), choice("keep", False, True),
           color("marker2", optional=True), choice("shape2", *_HALOS, when=lambda s: s["marker2"] is not None),
           color("color2", when=lambda s: s["marker2"] is not None, paint=True)),
    body=_halo_body,
    choose=_halo_choose,
    check=_halo_check,
    hints={"markers": {"walls": 0.3, "two_colors": True}, "noise": {"max_side": 10}},
    chain=0.15,
    weight=1.5,
    seeds=("0ca9ddb6", "dc1df850", "4258a5f9"),
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
    worlds=("noise", "objects"),
    slots=(choice("stat", *_SUMMARY), choice("size", 1, 2, 3)),
    body=lambda s: [BG, f"out = create_img(({s['size']}, {s['size']}), {_SUMMARY[s['stat']]})"],
    choose=lambda rng, inst: {"stat": rng.choice(list(_SUMMARY)), "size": rng.choice((1, 1, 2, 3))},
    check=_summary_check,
    hints={"noise": {"min_colors": 2, "skew": True, "vary_colors": True},
           "objects": {"n_colors": 3, "min_objects": 4, "max_objects": 6, "vary_colors": True}},
    weight=1.0,
)

_OBJECT_PICK = {
    "largest": "max(objs, key=lambda o: o.size)",
    "smallest": "min(objs, key=lambda o: o.size)",
    "largest_box": "max(objs, key=lambda o: o.height * o.width)",
    "unique_holes": "unique_by(objs, lambda o: len(holes(o)) > 0)",
    "unique_size": "unique_by(objs, lambda o: o.size)",
    "unique_shape": "unique_by(objs, lambda o: o.shape)",
}


def _object_color_check(inputs, s):
    if s["pick"] in _EXTREME:
        return _extreme_check("pick")(inputs, s)
    return None


family(
    name="object_color",
    doc="output a k x k grid of the colour of the object picked by a key (largest, largest box, the one with holes...)",
    worlds=("objects", "holes"),
    slots=(choice("pick", *_OBJECT_PICK), choice("size", 1, 2, 3)),
    body=lambda s: [BG, "objs = find_objects(img, background=bg)",
                    f"out = create_img(({s['size']}, {s['size']}), {_OBJECT_PICK[s['pick']]}.color)"],
    choose=lambda rng, inst: {"pick": rng.choice(list(_OBJECT_PICK)), "size": rng.choice((1, 1, 2, 3))},
    check=_object_color_check,
    hints={"objects": {"n_colors": 3, "min_objects": 3, "max_objects": 4, "vary_colors": True}},
    weight=1.0,
    seeds=("445eab21", "b9b7f026"),
    fit="pick",
)

MIXTURE_WEIGHTS: dict[str, float] = {name: fam.weight for name, fam in FAMILIES.items()}

# Programs simpler than any family's, which the gate rejects as shortcuts: the search tries them first (a real
# task may be one), the stream never yields them.
_GEOMETRY_CODE = {"rotate1": "out = rotate(img, 1)", "rotate2": "out = rotate(img, 2)", "rotate3": "out = rotate(img, 3)",
                  "flip_lr": 'out = flip(img, "lr")', "flip_ud": 'out = flip(img, "ud")', "transpose": "out = transpose(img)"}
BASELINE_FAMILIES: dict[str, Family] = {
    "geometry": Family(
        name="geometry", doc="rotate, flip or transpose the whole grid", worlds=("small", "sprites"),
        slots=(choice("op", *_GEOMETRY_CODE),), body=lambda s: [_GEOMETRY_CODE[s["op"]]],
        choose=lambda rng, inst: {"op": rng.choice(list(_GEOMETRY_CODE))}, weight=0.0,
        seeds=("3c9b0459", "6150a2bd", "67a3c6ac", "68b16354", "74dd1130", "9dfd6313", "ed36ccf7"),
    ),
}
