"""Hindsight relabelling: every program that ran becomes a task it solves, with its dead lines removed.

Model-written code is text, not the generator's list of draws, so the gate's ``_prune_dead`` (which replays
ops) cannot read it. Dead lines are found the same way, by leaving one out and checking that the outputs do
not change, but at the level of the statements of ``task``'s body and through the sandbox: the code is
untrusted, may hold loops and variables, and all variants of all programs run in one ``execute_batch`` call.
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass

import numpy as np

from arc25.infer.scoring import ProgramScore
from arc25.tasks import Task

__all__ = ["HindsightTask", "RelabelStats", "compose_programs", "extend_programs", "outputs_key", "prune_dead_lines", "relabel",
           "removable_spans"]

# Each round removes at least one statement per program still shrinking; real programs need one or two.
MAX_PRUNE_ROUNDS = 8


@dataclass
class HindsightTask:
    """A relabelled task, and how close its program came to the real target (orders training)."""

    task: Task
    accuracy: float


@dataclass
class RelabelStats:
    n_valid: int = 0
    n_unique_outputs: int = 0
    n_unchanged: int = 0
    n_seen: int = 0
    n_new: int = 0


def outputs_key(outputs: list[np.ndarray]) -> str:
    """A hash that is equal exactly when two lists of grids are (shapes and cells)."""
    digest = hashlib.blake2b(digest_size=16)
    for grid in outputs:
        digest.update(repr(grid.shape).encode())
        digest.update(np.ascontiguousarray(grid, dtype=np.int64).tobytes())
    return digest.hexdigest()


def removable_spans(code: str) -> list[tuple[int, int]]:
    """(first, last) 1-based line ranges of ``task``'s body statements that could be dropped on their own.

    A return is never a candidate, nor is a statement sharing a line with another (dropping the line would
    drop both). Code that does not parse, or has no top-level ``task``, has none.
    """
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    func = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "task"), None)
    if func is None:
        return []
    spans = [(s.lineno, s.end_lineno or s.lineno) for s in func.body]
    candidates = []
    for k, (statement, span) in enumerate(zip(func.body, spans)):
        if isinstance(statement, ast.Return):
            continue
        shared = (k > 0 and spans[k - 1][1] >= span[0]) or (k + 1 < len(spans) and spans[k + 1][0] <= span[1])
        if not shared and len(func.body) > 1:
            candidates.append(span)
    return candidates


def _body_statements(code: str) -> list[list[str]] | None:
    """The source lines of each statement of ``task(img)``'s body before its closing ``return img``; None for any
    other shape.

    Only that shape composes: the first program's drawing then flows into the second's through ``img``.
    """
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.FunctionDef):
        return None
    func = tree.body[0]
    args = func.args
    if (func.name != "task" or func.decorator_list or [a.arg for a in args.args] != ["img"] or args.vararg
            or args.kwarg or args.kwonlyargs or args.posonlyargs or len(func.body) < 2):
        return None
    last = func.body[-1]
    if not (isinstance(last, ast.Return) and isinstance(last.value, ast.Name) and last.value.id == "img"):
        return None
    lines = code.split("\n")
    starts = [s.lineno - 1 for s in func.body]
    return [lines[a:b] for a, b in zip(starts, starts[1:])]


def _join(*bodies: list[str]) -> str | None:
    """``task(img)`` running the given body lines in turn; None when they do not parse together (indented
    differently)."""
    code = "\n".join(["def task(img):", *(line for body in bodies for line in body), "    return img"])
    return code if _body_statements(code) is not None else None


def _parts(scores: list[ProgramScore], n_train: int) -> list[tuple[float, list[list[str]]]]:
    """(accuracy, statements) of the composable programs with distinct outputs, best first (stable: equal
    accuracies keep sampling order)."""
    parts: list[tuple[float, list[list[str]]]] = []
    keys = set()
    for score in scores:
        outputs = _valid_outputs(score, n_train)
        body = _body_statements(score.code) if outputs is not None else None
        if body is None or (key := outputs_key(outputs)) in keys:
            continue
        keys.add(key)
        parts.append((score.mean_train_accuracy, body))
    return sorted(parts, key=lambda part: -part[0])


def compose_programs(scores: list[ProgramScore], n: int, n_train: int) -> list[str]:
    """Up to ``n`` new programs, each one sampled program's draws followed by another's.

    A model writes about as many draws as it was trained on, so relabelled tasks alone never ask for more
    (docs/results/2026-12-07-prompt-loss-weight.md, section 3). Joining two programs that ran gives relabelled
    tasks with up to twice the draws, built from pieces the model already writes for this task's inputs. The
    parts are the programs with distinct outputs, best first by accuracy on the real task; the pairs are taken
    in order of their parts' summed accuracy (ties: the better first part), so the result does not depend on any RNG.
    """
    if n <= 0:
        return []
    parts = _parts(scores, n_train)
    pairs = sorted(((a, b) for a in range(len(parts)) for b in range(len(parts)) if a != b),
                   key=lambda ab: (-(parts[ab[0]][0] + parts[ab[1]][0]), ab[0], ab[1]))
    composed = []
    for a, b in pairs[:n]:
        code = _join(*parts[a][1], *parts[b][1])
        if code is not None:
            composed.append(code)
    return composed


def extend_programs(scores: list[ProgramScore], n: int, n_train: int) -> list[str]:
    """Up to ``n`` new programs, each a sampled program with one statement of another appended.

    Joining whole programs (``compose_programs``) also joins their mistakes; one statement at a time is the
    smaller step: the best program plus a draw that some other sample wrote (often the one draw the best program
    misses, when the model rarely writes it). Bases best first; for each, the other programs' statements in their
    order (best program first, then its body's order), skipping statements the base already holds. No RNG.
    """
    if n <= 0:
        return []
    parts = _parts(scores, n_train)
    pool = list(dict.fromkeys(tuple(s) for _, body in parts for s in body))
    extended: list[str] = []
    for _, base in parts:
        held = {tuple(s) for s in base}
        for statement in pool:
            if len(extended) >= n:
                return extended
            if statement in held:
                continue
            code = _join(*base, list(statement))
            if code is not None:
                extended.append(code)
    return extended


def _without(code: str, spans: list[tuple[int, int]]) -> str:
    drop = {line for first, last in spans for line in range(first, last + 1)}
    return "\n".join(line for k, line in enumerate(code.split("\n"), start=1) if k not in drop)


def _same(outcome, outputs: list[np.ndarray]) -> bool:
    return (isinstance(outcome, list) and len(outcome) == len(outputs)
            and all(isinstance(a, np.ndarray) and np.array_equal(a, b) for a, b in zip(outcome, outputs)))


def prune_dead_lines(
    codes: list[str], inputs: list[list[np.ndarray]], outputs: list[list[np.ndarray]], *,
    timeout_s: float = 1.0, n_workers: int | None = None,
) -> list[str]:
    """Each code without the statements whose removal leaves its outputs on its inputs unchanged.

    Per round, every leave-one-out variant of every program still shrinking runs in one batch; then each
    program drops all its dead statements at once if that (checked in a second batch) keeps its outputs, else
    only its last dead one, which the first batch already checked. Every code returned reproduces its outputs.
    """
    from arc25.sandbox import execute_batch

    current = list(codes)
    active = [i for i in range(len(codes)) if removable_spans(codes[i])]
    for _ in range(MAX_PRUNE_ROUNDS):
        jobs = [(i, span) for i in active for span in removable_spans(current[i])]
        if not jobs:
            break
        outcomes = execute_batch([_without(current[i], [span]) for i, span in jobs], [inputs[i] for i, _ in jobs],
                                 timeout_s=timeout_s, n_workers=n_workers)
        dead: dict[int, list[tuple[int, int]]] = {}
        for (i, span), outcome in zip(jobs, outcomes):
            if _same(outcome, outputs[i]):
                dead.setdefault(i, []).append(span)
        several = [i for i, spans in dead.items() if len(spans) > 1]
        checks = execute_batch([_without(current[i], dead[i]) for i in several], [inputs[i] for i in several],
                               timeout_s=timeout_s, n_workers=n_workers) if several else []
        together = {i for i, outcome in zip(several, checks) if _same(outcome, outputs[i])}
        for i, spans in dead.items():
            current[i] = _without(current[i], spans if i in together else [spans[-1]])
        active = [i for i in dead if removable_spans(current[i])]
        if not active:
            break
    return current


def _valid_outputs(score: ProgramScore, n_train: int) -> list[np.ndarray] | None:
    if not score.runs or score.predictions is None or len(score.predictions) < n_train:
        return None
    outputs = score.predictions[:n_train]
    if not all(isinstance(g, np.ndarray) and g.ndim == 2 and g.size for g in outputs):
        return None
    return outputs


def relabel(
    train_inputs: list[np.ndarray], scores: list[ProgramScore], seen: set[str], *,
    timeout_s: float = 1.0, n_workers: int | None = None,
) -> tuple[list[HindsightTask], RelabelStats]:
    """New tasks from the programs that ran, worst to best by accuracy on the real task; adds their keys to seen.

    Outputs equal to the inputs teach nothing and are dropped; among programs with equal outputs the shortest
    code (after pruning) is kept; outputs trained on in an earlier epoch (``seen``) are skipped.
    """
    stats = RelabelStats()
    n_train = len(train_inputs)
    by_code: dict[str, tuple[list[np.ndarray], float]] = {}
    keys = set()
    for score in scores:
        outputs = _valid_outputs(score, n_train)
        if outputs is None:
            continue
        stats.n_valid += 1
        keys.add(outputs_key(outputs))
        if all(np.array_equal(a, b) for a, b in zip(outputs, train_inputs)):
            stats.n_unchanged += 1
            continue
        by_code.setdefault(score.code, (outputs, score.mean_train_accuracy))
    stats.n_unique_outputs = len(keys)
    codes = list(by_code)
    pruned = prune_dead_lines(codes, [train_inputs] * len(codes), [by_code[c][0] for c in codes],
                              timeout_s=timeout_s, n_workers=n_workers)
    best: dict[str, tuple[str, list[np.ndarray], float]] = {}
    for code, short in zip(codes, pruned):
        outputs, accuracy = by_code[code]
        key = outputs_key(outputs)
        if key not in best or len(short) < len(best[key][0]):
            best[key] = (short, outputs, accuracy)
    fresh = []
    for key, (code, outputs, accuracy) in best.items():
        if key in seen:
            stats.n_seen += 1
            continue
        seen.add(key)
        task = Task(inputs=list(train_inputs), outputs=list(outputs), code=code, generator="hindsight")
        fresh.append(HindsightTask(task=task, accuracy=accuracy))
    # Stable: equal accuracies keep sampling order. The best come last, freshest in the weights.
    fresh.sort(key=lambda h: h.accuracy)
    stats.n_new = len(fresh)
    return fresh, stats
