"""Family search: the non-neural baseline, and the check that the generator families cover real tasks.

For one task, the search enumerates the slot spaces of the families (``arc25.tasks.families``), cheapest first:
one-step programs and chains with a finisher, smallest slot space first (one-step first on a tie). Colour
slots range over the colours of the task's train grids plus one absent colour (every absent colour acts alike), and
a slot whose condition is off is skipped. A candidate that reproduces every train pair is run on the test inputs;
the first two candidates with different test answers are the task's attempts (ARC scores two). The search stops
when it has them, when the space is exhausted, or when the task's CPU-second budget is spent.

Candidates are rendered from our own templates, so they run in this process through the trusted runner even on
real tasks (the grids are data, never code). Model output never comes here.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from arc25.tasks.families import (BASELINE_FAMILIES, FAMILIES, FINISH, Family, memo_names, parametric, render,
                                  reproduces, run_code, slot_alternatives, task_colors)

__all__ = ["SearchResult", "candidates", "level_order", "search_task", "space_size"]


@dataclass
class SearchResult:
    """What the search found for one task."""

    task_id: str
    program: str | None = None  # the first attempt's code
    family: str | None = None
    attempts: list[str] = field(default_factory=list)  # codes, at most two, with different test answers
    predictions: list[list[list[list[int]]]] = field(default_factory=list)  # per attempt, per test input
    correct: bool | None = None  # an attempt answers every test pair (None: no test outputs to score)
    candidates: int = 0
    seconds: float = 0.0
    exhausted: bool = False  # the whole space was tried within the budget


def candidates(family: Family, colors: list[int], chained: bool) -> Iterator[dict]:
    """Every slot assignment of ``family`` on a task with these colours, in canonical order; ``chained``: only
    assignments with a finisher (the family must chain), else only those without."""
    slots = family.slots + ((FINISH,) if chained else ())

    def walk(i: int, chosen: dict) -> Iterator[dict]:
        if i == len(slots):
            yield dict(chosen)
            return
        slot = slots[i]
        if not slot.active(chosen):
            chosen[slot.name] = None
            yield from walk(i + 1, chosen)
            return
        values = slot_alternatives(slot, colors)
        if slot is FINISH:
            values = [v for v in values if v is not None]
        for value in values:
            chosen[slot.name] = value
            yield from walk(i + 1, chosen)

    if not chained:
        for assignment in walk(0, {}):
            if family.chain:
                assignment["finish"] = None
            yield assignment
    elif family.chain:
        yield from walk(0, {})


def space_size(family: Family, colors: list[int], chained: bool) -> int:
    return sum(1 for _ in candidates(family, colors, chained))


def level_order(colors: list[int], families: dict[str, Family] | None = None) -> list[tuple[Family, bool]]:
    """(family, chained) in search order: cheapest slot space first, one-step before chained on a tie."""
    pool = list(BASELINE_FAMILIES.values()) + list((families or FAMILIES).values())
    spaces = [(space_size(f, colors, chained), chained, k, f) for chained in (False, True)
              for k, f in enumerate(pool) if not chained or f.chain]
    return [(f, chained) for size, chained, _, f in sorted(spaces, key=lambda t: t[:3]) if size]


def _listed(grid: np.ndarray) -> list[list[int]]:
    return grid.tolist()


def search_task(task_id: str, train_inputs: list, train_outputs: list, test_inputs: list,
                test_outputs: list | None = None, budget_s: float = 30.0,
                families: dict[str, Family] | None = None, attempts: int = 2) -> SearchResult:
    """Search the families for programs that reproduce every train pair of one task (see the module doc)."""
    start = time.process_time()
    train_inputs = [np.asarray(g, dtype=np.int64) for g in train_inputs]
    train_outputs = [np.asarray(g, dtype=np.int64) for g in train_outputs]
    test_inputs = [np.asarray(g, dtype=np.int64) for g in test_inputs]
    colors = task_colors(itertools.chain(train_inputs, train_outputs))
    names = memo_names({})
    result = SearchResult(task_id=task_id)
    out_of_time = False
    for family, chained in level_order(colors, families):
        for slots in candidates(family, colors, chained):
            if time.process_time() - start > budget_s:
                out_of_time = True
                break
            result.candidates += 1
            shared, params = parametric(family, slots)
            if not reproduces(shared, train_inputs, train_outputs, names, params):
                continue
            answer = run_code(shared, test_inputs, names, params) if test_inputs else []
            if answer is None:
                continue
            code = render(family, slots)
            listed = [_listed(g) for g in answer]
            if listed in result.predictions:
                continue
            result.attempts.append(code)
            result.predictions.append(listed)
            if result.program is None:
                result.program, result.family = code, family.name
            if len(result.attempts) == attempts:
                break
        if out_of_time or len(result.attempts) == attempts:
            break
    else:
        result.exhausted = True
    if test_outputs and all(t is not None for t in test_outputs):
        wanted = [np.asarray(t).tolist() for t in test_outputs]
        result.correct = any(p == wanted for p in result.predictions)
    result.seconds = round(time.process_time() - start, 3)
    return result
