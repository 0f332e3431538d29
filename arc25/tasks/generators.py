"""Hindsight task generators: random DSL programs run on random grids.

A generator samples input grids and a short list of DSL draws; running the
draws on the inputs gives the outputs, so every task is correct by
construction. Each sample passes a gate before it is yielded (see ``_gate``).
All randomness flows from one ``random.Random`` seeded by the caller: the same
seed gives the same stream on any machine.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

from arc25 import dsl
from arc25.dsl import draw
from arc25.tasks.canonical import ORDERS, apply_op, canonicalize
from arc25.tasks.families import FAMILIES, MIXTURE_WEIGHTS, FamilyGenerator
from arc25.programs.errors import ExecutionError
from arc25.programs.trusted import execute_trusted

MAX_SIDE = dsl.MAX_SIDE
# Every v1 DSL function that draws on an existing grid (create_img makes one, so programs never call it). The v1
# names only: the task stream (and every model trained on it) must not change when the DSL grows.
DRAW_FUNCTIONS = tuple(name for name in draw.__all__ if name != "create_img")
BACKGROUNDS = ("empty", "noise")
# A generator that fails this many times in a row is misconfigured, not unlucky.
MAX_ATTEMPTS = 200


@dataclass
class Task:
    """One ARC-style task: the program's outputs on the inputs are, by construction, the answer."""

    inputs: list[np.ndarray]
    outputs: list[np.ndarray]
    code: str
    generator: str
    n_draws: int = 0
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class GeneratorConfig:
    """Parameters of one task generator; validated at construction."""

    n_inputs: int = 1
    min_side: int = 3
    max_side: int = MAX_SIDE
    background: str = "empty"
    min_draws: int = 1
    max_draws: int = 5
    functions: tuple[str, ...] = DRAW_FUNCTIONS
    # Relative weights of min_draws..max_draws sampled draws; None draws the count uniformly (the journal's way).
    draw_weights: tuple[float, ...] | None = None
    # How the canonical program orders draws that commute (arc25.tasks.canonical.ORDERS): "name" sorts them by
    # function and arguments, "position" by where each starts on the grid, the order a reader meets them.
    draw_order: str = "name"

    def __post_init__(self):
        if not 1 <= self.n_inputs <= 10:
            raise ValueError(f"n_inputs must be 1-10, got {self.n_inputs}")
        for name in ("min_side", "max_side"):
            value = getattr(self, name)
            if not 1 <= value <= MAX_SIDE:
                raise ValueError(f"{name} must be 1-{MAX_SIDE}, got {value}")
        if self.min_side > self.max_side:
            raise ValueError(f"min_side ({self.min_side}) must not exceed max_side ({self.max_side})")
        if self.background not in BACKGROUNDS:
            raise ValueError(f"background must be one of {', '.join(BACKGROUNDS)}; got {self.background!r}")
        if self.min_draws < 1:
            raise ValueError(f"min_draws must be >= 1, got {self.min_draws}")
        if self.min_draws > self.max_draws:
            raise ValueError(f"min_draws ({self.min_draws}) must not exceed max_draws ({self.max_draws})")
        if self.max_draws > 50:
            raise ValueError(f"max_draws must be <= 50, got {self.max_draws}")
        if not self.functions:
            raise ValueError(f"functions must name at least one of {', '.join(DRAW_FUNCTIONS)}")
        unknown = [f for f in self.functions if f not in DRAW_FUNCTIONS]
        if unknown:
            raise ValueError(f"unknown draw function {unknown[0]!r}; valid: {', '.join(DRAW_FUNCTIONS)}")
        object.__setattr__(self, "functions", tuple(self.functions))
        if self.draw_order not in ORDERS:
            raise ValueError(f"draw_order must be one of {', '.join(ORDERS)}; got {self.draw_order!r}")
        if self.draw_weights is not None:
            weights = tuple(float(w) for w in self.draw_weights)
            n = self.max_draws - self.min_draws + 1
            if len(weights) != n or any(not w >= 0 for w in weights) or not sum(weights) > 0:
                raise ValueError(f"draw_weights {','.join(f'{w:g}' for w in weights)} must be {n} weights >= 0 "
                                 f"(one for each of {self.min_draws}-{self.max_draws} draws), not all 0")
            object.__setattr__(self, "draw_weights", weights)

    def n_draws(self, rng: random.Random) -> int:
        """How many draws to sample for one program."""
        if self.draw_weights is None:
            return rng.randint(self.min_draws, self.max_draws)
        return rng.choices(range(self.min_draws, self.max_draws + 1), weights=self.draw_weights)[0]


# The four generators the journal's stream mixed.
GENERATORS: dict[str, GeneratorConfig] = {
    "one_empty": GeneratorConfig(n_inputs=1, background="empty"),
    "one_random": GeneratorConfig(n_inputs=1, background="noise"),
    "two_empty": GeneratorConfig(n_inputs=2, background="empty"),
    "three_random": GeneratorConfig(n_inputs=3, background="noise"),
}

MIXTURES: dict[str, dict[str, float]] = {
    "default": {"one_empty": 1.0, "one_random": 1.0, "two_empty": 1.0, "three_random": 1.0},
    "empty": {"one_empty": 1.0, "two_empty": 1.0},
    "random": {"one_random": 1.0, "three_random": 1.0},
    # DSL v2 generator families (arc25.tasks.families): each task's ``generator`` names its family.
    "arc-v2": dict(MIXTURE_WEIGHTS),
}
# GeneratorConfig fields that also apply to a family (the rest describe random draws, which families do not make).
FAMILY_OVERRIDES = ("n_inputs", "max_side")


@dataclass(frozen=True)
class Mixture:
    """Weighted generators the stream samples from (random-draw generators or families)."""

    generators: tuple[tuple[str, float, GeneratorConfig | FamilyGenerator], ...]

    @property
    def names(self) -> list[str]:
        return [name for name, _, _ in self.generators]


def get_generator(name: str, **overrides) -> GeneratorConfig:
    """Look up a registered generator, optionally overriding some of its parameters."""
    if name not in GENERATORS:
        raise ValueError(f"unknown generator {name!r}; valid: {', '.join(GENERATORS)}")
    return dataclasses.replace(GENERATORS[name], **overrides) if overrides else GENERATORS[name]


def get_family_generator(name: str, **overrides) -> FamilyGenerator:
    """A family as a mixture member; of the generator overrides only n_inputs and max_side apply to families."""
    ignored = [key for key in overrides if key not in FAMILY_OVERRIDES]
    if ignored:
        raise ValueError(f"override(s) {', '.join(ignored)} do not apply to family {name!r}; "
                         f"families take {', '.join(FAMILY_OVERRIDES)}")
    if "n_inputs" in overrides and not 2 <= overrides["n_inputs"] <= 10:
        raise ValueError(f"n_inputs must be 2-10 for family {name!r} (a family needs pairs to pin its slots), "
                         f"got {overrides['n_inputs']}")
    if "max_side" in overrides and not 1 <= overrides["max_side"] <= MAX_SIDE:
        raise ValueError(f"max_side must be 1-{MAX_SIDE}, got {overrides['max_side']}")
    return FamilyGenerator(FAMILIES[name], **overrides)


def make_mixture(spec: str = "default", **overrides) -> Mixture:
    """Build a mixture from a registered name or ``"gen:weight,gen:weight"``; overrides apply to every generator.

    Generators are random-draw generators (GENERATORS) or families (arc25.tasks.families.FAMILIES).
    ``overrides`` are GeneratorConfig fields (n_inputs, min_side, ...); a None value means "keep".
    """
    overrides = {key: value for key, value in overrides.items() if value is not None}
    spec = spec.strip()
    if spec in MIXTURES:
        weights = MIXTURES[spec]
    else:
        weights = {}
        for part in spec.split(","):
            name, _, weight = part.strip().partition(":")
            if name not in GENERATORS and name not in FAMILIES:
                raise ValueError(
                    f"unknown mixture or generator {name!r} in {spec!r}; valid mixtures: {', '.join(MIXTURES)}; "
                    f"generators: {', '.join(GENERATORS)}; families: {', '.join(FAMILIES)} "
                    "(combine as 'one_empty:2,two_empty:1')"
                )
            try:
                weights[name] = float(weight) if weight else 1.0
            except ValueError:
                raise ValueError(f"weight of {name!r} in mixture {spec!r} must be a number, got {weight!r}") from None
            if not weights[name] > 0:
                raise ValueError(f"weight of {name!r} in mixture {spec!r} must be > 0, got {weight!r}")
    return Mixture(tuple(
        (name, w, get_generator(name, **overrides) if name in GENERATORS else get_family_generator(name, **overrides))
        for name, w in weights.items()
    ))


def derive_seed(base_seed: int, *keys: int) -> int:
    """Derive an independent 63-bit seed from a base seed and keys such as (rank, worker, resume step).

    Hashing (rather than adding) keeps (rank=1, worker=0) and (rank=0, worker=1) apart, and makes
    neighbouring base seeds give unrelated streams.
    """
    text = ",".join(str(int(k)) for k in (base_seed, *keys))
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little") >> 1


# --- sampling -----------------------------------------------------------------------------------

Op = tuple[str, tuple]  # (DSL function name, positional args after img)


def _sample_grid(rng: random.Random, shape: tuple[int, int], background: str) -> np.ndarray:
    if background == "empty":
        return np.full(shape, rng.randrange(10), dtype=np.int64)
    # Noise over a random palette of 2-10 colours; bytes from the seeded Random keep it machine-independent.
    palette = np.array(rng.sample(range(10), rng.randint(2, 10)), dtype=np.int64)
    raw = np.frombuffer(rng.randbytes(shape[0] * shape[1]), dtype=np.uint8)
    return palette[raw % len(palette)].reshape(shape)


@dataclass(frozen=True)
class DrawSampler:
    """How generators call one DSL draw function: which grids it fits, and its random arguments."""

    args: Callable[[random.Random, int, int], tuple]  # (rng, rows, cols) -> positional args after img, before colour
    fits: Callable[[int, int], bool]  # (rows, cols) -> whether args can be sampled sensibly on such a grid
    extra: Callable[[random.Random], tuple] | None  # drawn after the colour: trailing args (flood_fill's connectivity)


# DSL function name -> its sampler; every function in DRAW_FUNCTIONS must have one (checked below, at import).
SAMPLERS: dict[str, DrawSampler] = {}


def sampler(name: str, fits: Callable[[int, int], bool] = lambda rows, cols: True,
            extra: Callable[[random.Random], tuple] | None = None):
    """Register the decorated ``(rng, rows, cols) -> args`` function as the argument sampler of DSL function ``name``."""

    def register(args: Callable[[random.Random, int, int], tuple]):
        if name not in DRAW_FUNCTIONS:
            raise ImportError(f"sampler for {name!r}, which is not a draw function in arc25.dsl.draw.__all__")
        SAMPLERS[name] = DrawSampler(args=args, fits=fits, extra=extra)
        return args

    return register


def check_samplers(functions: tuple[str, ...] = DRAW_FUNCTIONS) -> None:
    """Fail at import, not mid-stream, when a DSL draw function has no registered argument sampler."""
    missing = [name for name in functions if name not in SAMPLERS]
    if missing:
        raise ImportError(f"DSL draw function(s) {', '.join(missing)} have no argument sampler: register one with "
                          "@sampler(name) in arc25/tasks/generators.py (or leave them out of arc25.dsl.draw.__all__)")


def _point(rng: random.Random, rows: int, cols: int) -> tuple[int, int]:
    return (rng.randrange(rows), rng.randrange(cols))


@sampler("draw_pixel")
def _pixel_args(rng, rows, cols):
    return (_point(rng, rows, cols),)


@sampler("draw_line", fits=lambda rows, cols: rows >= 2 or cols >= 2)
def _sample_line(rng, rows, cols):
    directions = []
    if cols >= 2:
        directions.append((0, 1))
    if rows >= 2:
        directions.append((1, 0))
    if rows >= 2 and cols >= 2:
        directions += [(1, 1), (1, -1)]
    dr, dc = rng.choice(directions)
    # Pick the length first, then a start that keeps both ends inside the grid.
    max_len = min(rows if dr else MAX_SIDE, cols if dc else MAX_SIDE)
    length = rng.randint(2, max_len)
    r1 = rng.randrange(rows - (length - 1) * dr)
    c_lo, c_hi = (length - 1 if dc < 0 else 0), (cols - (length - 1) if dc > 0 else cols)
    c1 = rng.randrange(c_lo, c_hi)
    end = (r1 + (length - 1) * dr, c1 + (length - 1) * dc)
    return ((r1, c1), end) if rng.random() < 0.5 else (end, (r1, c1))


@sampler("draw_rectangle", fits=lambda rows, cols: rows >= 2 and cols >= 2)
def _sample_rectangle(rng, rows, cols):
    r1, r2 = sorted(rng.sample(range(rows), 2))
    c1, c2 = sorted(rng.sample(range(cols), 2))
    return ((r1, c1), (r2, c2))


@sampler("draw_horizontal_line")
def _horizontal_line_args(rng, rows, cols):
    return (rng.randrange(rows),)


@sampler("draw_vertical_line")
def _vertical_line_args(rng, rows, cols):
    return (rng.randrange(cols),)


# Mostly 4-connected fills; sometimes 8-connected, which leak through diagonal gaps.
@sampler("flood_fill", extra=lambda rng: (8,) if rng.random() < 0.3 else ())
def _flood_fill_args(rng, rows, cols):
    return (_point(rng, rows, cols),)


check_samplers()


def _sample_ops(rng: random.Random, cfg: GeneratorConfig, inputs: list[np.ndarray], n_draws: int) -> list[Op]:
    # Coordinates fit the smallest input so every draw lands in every grid.
    rows = min(g.shape[0] for g in inputs)
    cols = min(g.shape[1] for g in inputs)
    backgrounds = {int(g[0, 0]) for g in inputs} if cfg.background == "empty" else set()
    colors = [c for c in range(10) if c not in backgrounds]
    usable = [name for name in cfg.functions if SAMPLERS[name].fits(rows, cols)]
    ops: list[Op] = []
    while usable and len(ops) < n_draws:
        name = rng.choice(usable)
        draw = SAMPLERS[name]
        args = draw.args(rng, rows, cols)
        color = rng.choice(colors)
        ops.append((name, (*args, color, *(draw.extra(rng) if draw.extra else ()))))
    return ops


def random_program(rng: random.Random, cfg: GeneratorConfig, inputs: list[np.ndarray]) -> str:
    """A program drawn the way ``cfg`` draws them, for these inputs, ungated: what guessing from the prior writes."""
    return _render_code(_sample_ops(rng, cfg, inputs, cfg.n_draws(rng)))


_DSL = {name: getattr(draw, name) for name in DRAW_FUNCTIONS}


def _apply(ops: list[Op], grid: np.ndarray) -> np.ndarray:
    # Flood fills through scipy's labelling (same cells as dsl.flood_fill, several times faster); the gate's
    # rerun of the rendered code through the DSL itself still proves the two agree on every task.
    for op in ops:
        apply_op(op, grid)
    return grid


def _render_code(ops: list[Op]) -> str:
    lines = ["def task(img):"]
    for name, args in ops:
        if name == "flood_fill" and len(args) == 3:
            lines.append(f"    flood_fill(img, {args[0]}, color={args[1]}, connectivity={args[2]})")
            continue
        *positional, color = args
        shown = ", ".join(str(a) for a in positional)
        lines.append(f"    {name}(img, {shown}, color={color})")
    lines.append("    return img")
    return "\n".join(lines) + "\n"


def _prune_dead(ops: list[Op], inputs: list[np.ndarray]) -> tuple[list[Op], list[np.ndarray]]:
    """Drop draws whose removal leaves every output unchanged; return the live draws and the outputs."""
    ops, prefixes = _prune_dead_states(ops, inputs)
    return ops, prefixes[-1]


def _prune_dead_states(ops: list[Op], inputs: list[np.ndarray]) -> tuple[list[Op], list[list[np.ndarray]]]:
    """``_prune_dead``, returning every intermediate grid: ``prefixes[i][k]`` = input k after the live ``ops[:i]``."""
    while True:
        # prefixes[i][k] = input k after ops[:i], so each leave-one-out only replays the suffix.
        prefixes = [[g.copy() for g in inputs]]
        for op in ops:
            prefixes.append([_apply([op], g.copy()) for g in prefixes[-1]])
        outputs = prefixes[-1]
        for i in range(len(ops) - 1, -1, -1):
            without = [_apply(ops[i + 1 :], g.copy()) for g in prefixes[i]]
            if all(np.array_equal(a, b) for a, b in zip(without, outputs)):
                ops = ops[:i] + ops[i + 1 :]
                break
        else:
            return ops, prefixes


class GateRejection(Exception):
    """A sampled program failed the gate; the reason is the message."""


def _gate(ops: list[Op], inputs: list[np.ndarray], cfg: GeneratorConfig,
          canonical: bool = True) -> tuple[list[Op], str, list[np.ndarray]]:
    """Prune dead draws, make the program canonical, then check the rendered code runs, reproduces the draws
    and changes an input.

    Canonicalisation (arc25.tasks.canonical) gives each task ONE program: it keeps every intermediate grid's outputs
    and the number of draws, and uses no randomness, so the grids and the random stream are those of
    ``canonical=False`` (which exists to measure the ambiguity it removes: scripts/report_ambiguity.py).
    """
    ops, prefixes = _prune_dead_states(ops, inputs)
    outputs = prefixes[-1]
    if len(ops) < cfg.min_draws:
        raise GateRejection("too_few_live_draws")
    if all(np.array_equal(a, b) for a, b in zip(inputs, outputs)):
        raise GateRejection("no_change")
    if canonical:  # after the checks it cannot change (same number of draws, same outputs)
        ops = canonicalize(ops, inputs, prefixes, cfg.functions, cfg.draw_order)
    code = _render_code(ops)
    try:
        # A second, independent run through the source text: proves the code says what the draws did
        # (and, being a rerun, that it is deterministic).
        executed = execute_trusted(code, inputs)
    except ExecutionError:
        raise GateRejection("execution_error") from None
    if not all(np.array_equal(a, b) for a, b in zip(executed, outputs)):
        raise GateRejection("not_reproducible")
    return ops, code, outputs


def sample_task(rng: random.Random, name: str, cfg: GeneratorConfig, rejections: Counter | None = None,
                canonical: bool = True) -> Task:
    """Sample one gated task from a generator, retrying up to MAX_ATTEMPTS times.

    ``canonical=False`` keeps the sampled program (same grids, same random stream): for measuring ambiguity.
    """
    for _ in range(MAX_ATTEMPTS):
        inputs = [
            _sample_grid(rng, (rng.randint(cfg.min_side, cfg.max_side), rng.randint(cfg.min_side, cfg.max_side)), cfg.background)
            for _ in range(cfg.n_inputs)
        ]
        ops = _sample_ops(rng, cfg, inputs, cfg.n_draws(rng))
        try:
            ops, code, outputs = _gate(ops, inputs, cfg, canonical)
        except GateRejection as reason:
            if rejections is not None:
                rejections[f"{name}/{reason}"] += 1
            continue
        return Task(inputs=inputs, outputs=outputs, code=code, generator=name, n_draws=len(ops), meta={"ops": ops})
    raise RuntimeError(
        f"generator {name!r} produced no valid task in {MAX_ATTEMPTS} attempts with {cfg}; "
        "widen its sides or draws, or add draw functions"
    )


def task_stream(seed: int, mixture: str | Mixture = "default", rejections: Counter | None = None,
                canonical: bool = True) -> Iterator[Task]:
    """Yield an endless, deterministic stream of gated tasks; ``rejections`` (if given) counts gate failures.

    ``canonical=False`` yields the same grids with the programs as sampled (see ``_gate``).
    """
    mix = make_mixture(mixture) if isinstance(mixture, str) else mixture
    rng = random.Random(seed)
    names = mix.names
    weights = [w for _, w, _ in mix.generators]
    configs = {name: cfg for name, _, cfg in mix.generators}
    state: dict = {}  # families: the last world instance, which the next family may reuse
    while True:
        name = rng.choices(names, weights)[0]
        cfg = configs[name]
        if isinstance(cfg, GeneratorConfig):
            yield sample_task(rng, name, cfg, rejections, canonical)
        else:
            yield cfg.sample(rng, rejections, canonical, state)
