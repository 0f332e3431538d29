"""The learning ladder: does training teach a model to read grids? Rungs of task distributions from easy to full.

Each rung names a task distribution (generator overrides). For each, a model is trained within a budget by
finetuning.py (run as a child process from a recipe the ladder writes, so the ladder measures exactly what
users run), then evaluated on held-out tasks of the same distribution: one greedy program and ``n_samples``
sampled ones per task. Beside each figure stands what guessing gets: programs drawn from the rung's own
generator (right functions, right number of draws, random arguments) scored on the same tasks. On the DSL v2
rungs (the ``arc-v2`` generator families) guessing is the family templates with random slot values.
"""

from __future__ import annotations

import ast
import json
import random
import re
import time
from dataclasses import dataclass
from pathlib import Path

from arc25.tasks import DRAW_FUNCTIONS
from arc25.tasks.families import FAMILIES

__all__ = ["RUNGS", "Rung", "family_guess", "guess_programs", "rung_mixture", "score_rung", "train_recipe"]


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


# The one-family v2 rung's family: short tasks (one small grid in, one out) whose two slots the examples pin and a
# random guess rarely hits.
V2_ONE_FAMILY = "tile_mirror"

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
    # DSL v2: the generator families (arc25.tasks.families). Two input grids instead of the families' three keep a
    # task's conversation near 640 tokens (p95 about 1,350) for CPU training; the gate still pins every slot.
    "v2-one-family": Rung(f"the {V2_ONE_FAMILY} family of the arc-v2 mixture, 2 inputs", mixture=V2_ONE_FAMILY,
                          n_inputs=2, min_side=None, max_side=None, min_draws=None, max_draws=None),
    "v2-all": Rung("every family of the arc-v2 mixture, its weights, 2 inputs", mixture="arc-v2",
                   n_inputs=2, min_side=None, max_side=None, min_draws=None, max_draws=None),
}


def check_rungs(names: list[str]) -> None:
    """One-line ValueError for an unknown or repeated rung name."""
    for name in names:
        if name not in RUNGS:
            raise ValueError(f"unknown rung {name!r}; valid: {', '.join(RUNGS)}")
    if len(set(names)) != len(names):
        raise ValueError(f"a rung is given twice in {', '.join(names)}")


def rung_mixture(rung: Rung, draw_order: str | None = None):
    """The arc25.tasks Mixture of a rung; ``draw_order`` as the recipe sets it (None: the generators' own), so held-out
    tasks' programs, whose loss the ladder reports, are written as the training targets were."""
    from arc25.tasks import make_mixture

    flags = dict(rung.task_flags(), draw_order=draw_order)
    functions = flags.pop("draw_functions", None)
    return make_mixture(flags.pop("mixture"), functions=tuple(functions.split(",")) if functions else None, **flags)


def train_recipe(rung: Rung, settings: dict) -> dict:
    """finetuning.py's recipe for one rung: the run's settings plus the rung's task flags."""
    return {**settings, **rung.task_flags()}


def run_training(recipe: dict, output_dir: Path, timeout_s: float, n_processes: int = 1) -> dict:
    """Train with finetuning.py in a child process (``n_processes`` data-parallel ranks, the CPU threads split
    between them) from a recipe written beside the run; its train metrics."""
    import yaml

    from arc25.commands.launch import classify, finetuning_command, free_port, run_logged, thread_env

    output_dir.mkdir(parents=True, exist_ok=True)
    recipe_path = output_dir / "recipe.yaml"
    recipe_path.write_text(yaml.safe_dump(dict(recipe, output_dir=str(output_dir)), sort_keys=False))
    log = output_dir / "train.log"
    command = finetuning_command(n_processes, port=free_port() if n_processes > 1 else None)
    env = thread_env(n_processes) if n_processes > 1 else None
    rc, timed_out, seconds = run_logged([*command, "--config", str(recipe_path)], log, timeout_s, env=env)
    metrics_path = output_dir / "train_metrics.json"
    status, error = classify(rc, timed_out, log.read_text(errors="replace"), metrics_path.is_file())
    if status != "ok":
        raise RuntimeError(f"training {output_dir} ended {status}: {error} (log: {log})")
    return dict(json.loads(metrics_path.read_text()), wall_s=seconds)


_CALL = re.compile(r"^\s+(\w+)\(img", re.MULTILINE)


def program_functions(code: str) -> list[str]:
    """The DSL functions a program calls, in order."""
    return _CALL.findall(code)


class _BlankConstants(ast.NodeTransformer):
    def visit_Constant(self, node: ast.Constant) -> ast.Constant:
        return ast.Constant(value=None)


def program_form(code: str | None) -> str | None:
    """A program's syntax tree with every constant blanked (None when it does not parse).

    Two programs of one family template share a form whatever their slot values (colours, sizes, directions); a
    different template, predicate or chain step is a different form. So a held-out task's greedy program in the task's
    form wrote the right program and at most misread values, and one in another form never chose the right program.
    """
    if code is None:
        return None
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    return ast.dump(_BlankConstants().visit(tree), annotate_fields=False)


def form_rates(tasks, programs: list[str | None]) -> dict:
    """For family tasks: the share whose program (one per task; None when none) is in the task's code's form,
    overall and by family. A program that solves a task in another form (an equivalent program) counts as not."""
    by_family: dict[str, list[bool]] = {}
    for task, code in zip(tasks, programs):
        if task.source in FAMILIES and task.code:
            form = program_form(code)
            by_family.setdefault(task.source, []).append(form is not None and form == program_form(task.code))
    every = [same for values in by_family.values() for same in values]
    return {"all": {"n": len(every), "form": _rate(every)},
            "by_family": {k: {"n": len(v), "form": _rate(v)} for k, v in sorted(by_family.items())}}


def family_guess(rng: random.Random, family, inputs) -> str:
    """A program of ``family``'s template with every active slot at a random value (colours: those of the inputs
    plus one absent colour, as the gate tries them); the family's chain step is a slot like any other."""
    from arc25.tasks.families import normalize, render, slot_alternatives, task_colors

    colors = task_colors(inputs)
    slots: dict = {slot.name: None for slot in family.all_slots}
    for slot in family.all_slots:
        if slot.active(slots):
            slots[slot.name] = rng.choice(slot_alternatives(slot, colors))
    return render(family, normalize(family, slots))


def _guess(rng: random.Random, generator, inputs) -> str:
    from arc25.tasks import random_program
    from arc25.tasks.families import FamilyGenerator

    if isinstance(generator, FamilyGenerator):
        return family_guess(rng, generator.family, inputs)
    return random_program(rng, generator, inputs)


def guess_programs(tasks, rung: Rung | None, k: int, seed: int, generators=None) -> list[list[str]]:
    """k programs per task drawn from the rung's own generators on the task's inputs: what guessing gets.

    A random-draw generator guesses the right functions and number of draws with random arguments; a family guesses
    its template with random slot values. The generator is drawn per program (guessing does not know the task's).
    ``generators`` (a Mixture's generators) replaces the rung's, e.g. to guess on real tasks."""
    configs = [cfg for _, _, cfg in (generators if generators is not None else rung_mixture(rung).generators)]
    rng = random.Random(seed)
    out = []
    for task in tasks:
        out.append([_guess(rng, rng.choice(configs), task.train_inputs) for _ in range(k)])
    return out


def _rate(values: list[bool]) -> float | None:
    return sum(values) / len(values) if values else None


def solve_rates(tasks, solved: list[list[bool]], greedy: bool) -> dict:
    """Greedy and pass@k solve rates, overall, by number of draws (steps), (for 1-draw tasks) by draw function, by
    draw function over tasks of any length that call it (``by_function_in_any``: which function a composition
    fails on) and, for family tasks, by family (a task's ``source``).

    ``solved[i]`` holds task i's programs' verdicts, the greedy one first when ``greedy``.
    """
    # A task skipped for a prompt that does not fit has no programs: it counts as unsolved.
    width = max((len(row) for row in solved), default=0) - (1 if greedy else 0)

    def figures(indices: list[int]) -> dict:
        out = {"n": len(indices)}
        if greedy:
            out["greedy"] = _rate([bool(solved[i]) and solved[i][0] for i in indices])
        if width > 0:
            out[f"pass@{width}"] = _rate([any(solved[i][1:] if greedy else solved[i]) for i in indices])
        return out

    everything = list(range(len(tasks)))
    by_draws: dict[int, list[int]] = {}
    by_function: dict[str, list[int]] = {}
    in_any: dict[str, list[int]] = {}
    by_family: dict[str, list[int]] = {}
    for i, task in enumerate(tasks):
        if task.source in FAMILIES:
            by_family.setdefault(task.source, []).append(i)
        if task.n_draws is None:
            continue
        by_draws.setdefault(task.n_draws, []).append(i)
        functions = program_functions(task.code) if task.source not in FAMILIES else []
        if task.n_draws == 1 and functions:
            by_function.setdefault(functions[0], []).append(i)
        for name in sorted(set(functions)):
            in_any.setdefault(name, []).append(i)
    return {
        "all": figures(everything),
        "by_draws": {str(k): figures(v) for k, v in sorted(by_draws.items())},
        "by_function": {k: figures(v) for k, v in sorted(by_function.items())},
        "by_function_in_any": {k: figures(v) for k, v in sorted(in_any.items())},
        "by_family": {k: figures(v) for k, v in sorted(by_family.items())},
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
    greedy_codes = [r.programs[0].code if r.programs else None for r in results]
    return {
        "model": solve_rates(tasks, model_solved, settings.greedy),
        "form": form_rates(tasks, greedy_codes) if settings.greedy else None,
        "guess": solve_rates(tasks, guess_solved, settings.greedy),
        "parse_rate": _rate([p.parses for r in results for p in r.programs]),
        "eval_s": eval_s,
        "examples": [{"task_id": r.task.task_id, "code": r.task.code,
                      "greedy": r.programs[0].code if r.programs else None} for r in results[:8]],
    }


def _real_rates(verdicts: list[list[bool]], greedy: bool) -> dict:
    """Counts and rates of real tasks solved by the greedy program (the first) and by any sampled one."""
    out: dict = {"n": len(verdicts)}
    if greedy:
        out["n_greedy"] = sum(bool(row) and row[0] for row in verdicts)
        out["greedy"] = _rate([bool(row) and row[0] for row in verdicts])
    width = max((len(row) for row in verdicts), default=0) - (1 if greedy else 0)
    if width > 0:
        sampled = [any(row[1:] if greedy else row) for row in verdicts]
        out["n_pass"] = sum(sampled)
        out[f"pass@{width}"] = _rate(sampled)
    return out


def score_real(model, tokenizer, tasks, settings, seed: int) -> dict:
    """The model on real tasks beside guessing (programs of the arc-v2 families at random slot values, as many).

    A program solves a real task when it reproduces every train pair and every scored test output. Tasks whose
    prompt does not fit the context come back skipped and count as unsolved (``n_fit`` says how many fit)."""
    from arc25.infer.evaluation import evaluate
    from arc25.infer.scoring import score_tasks
    from arc25.tasks import make_mixture

    def solved(results) -> list[list[bool]]:
        return [[p.train_solved and p.test_solved is not False for p in r.programs] for r in results]

    started = time.perf_counter()
    results = evaluate(model, tokenizer, tasks, settings, progress=False)
    eval_s = time.perf_counter() - started
    n_programs = (1 if settings.greedy else 0) + settings.n_samples
    guesses = guess_programs(tasks, None, n_programs, seed, generators=make_mixture("arc-v2").generators)
    guessed = score_tasks(tasks, guesses, timeout_s=settings.timeout_s, n_workers=settings.n_workers)
    model_solved = solved(results)
    return {
        "model": _real_rates(model_solved, settings.greedy),
        "guess": _real_rates(solved(guessed), settings.greedy),
        "n_fit": sum(r.skipped is None for r in results),
        "parse_rate": _rate([p.parses for r in results if r.skipped is None for p in r.programs]),
        "eval_s": eval_s,
        "solved": [{"task_id": r.task.task_id, "code": next(p.code for p, v in zip(r.programs, row) if v)}
                   for r, row in zip(results, model_solved) if any(row)],
    }
