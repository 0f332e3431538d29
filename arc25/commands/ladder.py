"""The learning ladder: does training teach a model to read grids? Rungs of task distributions from easy to full.

Each rung names a task distribution (generator overrides). For each, a model is trained within a budget by
finetuning.py (run as a child process from a recipe the ladder writes, so the ladder measures exactly what
users run), then evaluated on held-out tasks of the same distribution: one greedy program and ``n_samples``
sampled ones per task. Beside each figure stands what guessing gets: programs drawn from the rung's own
generator (right functions, right number of draws, random arguments) scored on the same tasks.
"""

from __future__ import annotations

import json
import random
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from arc25.tasks import DRAW_FUNCTIONS

__all__ = ["RUNGS", "Rung", "guess_programs", "rung_mixture", "score_rung", "train_recipe"]


@dataclass(frozen=True)
class Rung:
    """A task distribution: finetuning.py's task flags (None keeps the mixture's own value)."""

    description: str
    mixture: str = "one_empty"
    n_inputs: int | None = 1
    min_side: int | None = 3
    max_side: int | None = 6
    min_draws: int | None = 1
    max_draws: int | None = 1
    draw_functions: tuple[str, ...] | None = None

    def task_flags(self) -> dict:
        """The finetuning.py / recipe keys that select this distribution."""
        flags = dict(mixture=self.mixture, n_inputs=self.n_inputs, min_side=self.min_side, max_side=self.max_side,
                     min_draws=self.min_draws, max_draws=self.max_draws,
                     draw_functions=",".join(self.draw_functions) if self.draw_functions else None)
        return {k: v for k, v in flags.items() if v is not None}


# Easy to hard. The first five keep the journal's easiest setting (1 input, one-colour background, sides 3-6);
# journal-iter4 is the research journal's iteration-4 distribution (no flood_fill), default the full mixture.
RUNGS: dict[str, Rung] = {
    "h-line": Rung("one draw_horizontal_line", draw_functions=("draw_horizontal_line",)),
    "v-line": Rung("one draw_vertical_line", draw_functions=("draw_vertical_line",)),
    "pixel": Rung("one draw_pixel", draw_functions=("draw_pixel",)),
    "1-draw": Rung("one draw of any function"),
    "1-3-draws": Rung("1-3 draws of any function", max_draws=3),
    "journal-iter4": Rung("the journal's iteration 4: sides 3-10, 1-5 draws, no flood_fill", max_side=10,
                          max_draws=5, draw_functions=tuple(f for f in DRAW_FUNCTIONS if f != "flood_fill")),
    "default": Rung("the default mixture (1-3 inputs, noise backgrounds, sides 3-30, 1-5 draws)",
                    mixture="default", n_inputs=None, min_side=None, max_side=None, min_draws=None, max_draws=None),
}


def check_rungs(names: list[str]) -> None:
    """One-line ValueError for an unknown or repeated rung name."""
    for name in names:
        if name not in RUNGS:
            raise ValueError(f"unknown rung {name!r}; valid: {', '.join(RUNGS)}")
    if len(set(names)) != len(names):
        raise ValueError(f"a rung is given twice in {', '.join(names)}")


def rung_mixture(rung: Rung):
    """The arc25.tasks Mixture of a rung."""
    from arc25.tasks import make_mixture

    flags = rung.task_flags()
    functions = flags.pop("draw_functions", None)
    return make_mixture(flags.pop("mixture"), functions=tuple(functions.split(",")) if functions else None, **flags)


def train_recipe(rung: Rung, settings: dict) -> dict:
    """finetuning.py's recipe for one rung: the run's settings plus the rung's task flags."""
    return {**settings, **rung.task_flags()}


def run_training(recipe: dict, output_dir: Path, timeout_s: float) -> dict:
    """Train with finetuning.py in a child process from a recipe written beside the run; its train metrics."""
    import yaml

    import finetuning
    from arc25.commands.launch import classify, run_logged

    output_dir.mkdir(parents=True, exist_ok=True)
    recipe_path = output_dir / "recipe.yaml"
    recipe_path.write_text(yaml.safe_dump(dict(recipe, output_dir=str(output_dir)), sort_keys=False))
    log = output_dir / "train.log"
    rc, timed_out, seconds = run_logged([sys.executable, finetuning.__file__, "--config", str(recipe_path)],
                                        log, timeout_s)
    metrics_path = output_dir / "train_metrics.json"
    status, error = classify(rc, timed_out, log.read_text(errors="replace"), metrics_path.is_file())
    if status != "ok":
        raise RuntimeError(f"training {output_dir} ended {status}: {error} (log: {log})")
    return dict(json.loads(metrics_path.read_text()), wall_s=seconds)


_CALL = re.compile(r"^\s+(\w+)\(img", re.MULTILINE)


def program_functions(code: str) -> list[str]:
    """The DSL functions a program calls, in order."""
    return _CALL.findall(code)


def guess_programs(tasks, rung: Rung, k: int, seed: int) -> list[list[str]]:
    """k programs per task drawn from the rung's own generator on the task's inputs: what guessing gets."""
    from arc25.tasks import random_program

    configs = [cfg for _, _, cfg in rung_mixture(rung).generators]
    rng = random.Random(seed)
    out = []
    for task in tasks:
        out.append([random_program(rng, rng.choice(configs), task.train_inputs) for _ in range(k)])
    return out


def _rate(values: list[bool]) -> float | None:
    return sum(values) / len(values) if values else None


def solve_rates(tasks, solved: list[list[bool]], greedy: bool) -> dict:
    """Greedy and pass@k solve rates, overall, by number of draws and (for 1-draw tasks) by draw function.

    ``solved[i]`` holds task i's programs' verdicts, the greedy one first when ``greedy``.
    """
    def figures(indices: list[int]) -> dict:
        out = {"n": len(indices)}
        if greedy:
            out["greedy"] = _rate([solved[i][0] for i in indices])
        sampled = [solved[i][1:] if greedy else solved[i] for i in indices]
        if sampled and sampled[0]:
            out[f"pass@{len(sampled[0])}"] = _rate([any(row) for row in sampled])
        return out

    everything = list(range(len(tasks)))
    by_draws: dict[int, list[int]] = {}
    by_function: dict[str, list[int]] = {}
    for i, task in enumerate(tasks):
        by_draws.setdefault(task.n_draws, []).append(i)
        if task.n_draws == 1:
            by_function.setdefault(program_functions(task.code)[0], []).append(i)
    return {
        "all": figures(everything),
        "by_draws": {str(k): figures(v) for k, v in sorted(by_draws.items())},
        "by_function": {k: figures(v) for k, v in sorted(by_function.items())},
    }


def score_rung(model, tokenizer, tasks, settings, rung: Rung, seed: int) -> dict:
    """The model's solve rates on held-out tasks, beside those of as many programs guessed from the generator."""
    from arc25.infer.evaluation import evaluate
    from arc25.infer.scoring import score_tasks

    started = time.perf_counter()
    results = evaluate(model, tokenizer, tasks, settings, progress=False)
    model_solved = [[p.train_solved for p in r.programs] for r in results]
    eval_s = time.perf_counter() - started
    guesses = guess_programs(tasks, rung, settings.n_programs, seed)
    guessed = score_tasks(tasks, guesses, timeout_s=settings.timeout_s, n_workers=settings.n_workers)
    guess_solved = [[p.train_solved for p in r.programs] for r in guessed]
    return {
        "model": solve_rates(tasks, model_solved, settings.greedy),
        "guess": solve_rates(tasks, guess_solved, settings.greedy),
        "parse_rate": _rate([p.parses for r in results for p in r.programs]),
        "eval_s": eval_s,
        "examples": [{"task_id": r.task.task_id, "code": r.task.code,
                      "greedy": r.programs[0].code if r.programs else None} for r in results[:8]],
    }
