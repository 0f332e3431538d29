"""HER against plain sampling at equal cost, from the same model on the same tasks, with greedy decoding as a floor.

Both arms are ``run_task``: HER with the tuner, sampling with none (nothing relabelled or trained), so the sampler,
its seeds and temperature schedule, the scoring and the stopping rules are the same code. Epoch 1 of both arms is the
same samples from the same weights; from epoch 2 on, HER samples from a model tuned on what epoch 1 drew, sampling
from the initial model with fresh seeds.

Cost is counted in sampled programs executed on the task. Each arm may execute at most ``max_epochs`` epochs of the
sampler's batch; an arm stops early only when it solves the task. When HER runs out of its time budget first, the
sampling arm gets exactly HER's number of epochs, so an unsolved task costs both arms the same executions. HER's
relabelling (dead-line pruning, and joining sampled programs with ``--n-composed``) runs programs too; that is in its
seconds, and the composed programs are counted apart (``her_composed`` in the per-task table), not in its executions:
they are built from what was sampled, and only a sampled program counts as a solution.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from arc25.her.loop import EpochRecord, LoopSettings, Sampler, TaskOutcome, Tuner, run_task
from arc25.infer.scoring import ProgramScore, score_tasks
from arc25.prompts.prompting import parse_code
from arc25.tasks.tasksets import EvalTask

__all__ = ["COMPARISON_KEYS", "METHODS", "TaskComparison", "compare_task", "epoch_rates", "format_rates",
           "plot_solved_against_executions", "summarize", "task_table"]

METHODS = ("sampling", "her")
COMPARISON_KEYS = ("tasks", "solved_greedy", "solved_sampling", "solved_her", "executions_sampling", "executions_her",
                   "seconds_sampling", "seconds_her")


def executions(outcome: TaskOutcome) -> int:
    """Sampled programs executed on the task."""
    return sum(e.n_sampled for e in outcome.epochs)


def solved_after(outcome: TaskOutcome) -> int | None:
    """Programs executed up to and including the epoch that solved the task; None if it was not solved."""
    return executions(outcome) if outcome.solved else None


@dataclass
class TaskComparison:
    """One task's three arms: the greedy program, plain sampling and HER."""

    task: EvalTask
    sampling: TaskOutcome
    her: TaskOutcome
    greedy: ProgramScore | None = None
    greedy_seconds: float = 0.0

    @property
    def skipped(self) -> str | None:
        return self.her.skipped

    @property
    def greedy_solved(self) -> bool:
        return bool(self.greedy is not None and self.greedy.train_solved)

    def arm(self, method: str) -> TaskOutcome:
        return self.her if method == "her" else self.sampling

    def to_json(self) -> dict:
        """One line of the per-task table, with each arm's best program of every epoch (to read why it solved)."""
        row = {"record": "comparison", "task_id": self.task.task_id, "task_set": self.task.task_set,
               "n_draws": self.task.n_draws, "skipped": self.skipped, "greedy_solved": self.greedy_solved,
               "greedy_test_solved": None if self.greedy is None else self.greedy.test_solved,
               "greedy_code": None if self.greedy is None else self.greedy.code}
        for method in METHODS:
            outcome = self.arm(method)
            row |= {
                f"{method}_solved": outcome.solved, f"{method}_test_solved": outcome.test_solved,
                f"{method}_solved_after": solved_after(outcome), f"{method}_executions": executions(outcome),
                f"{method}_epochs": len(outcome.epochs), f"{method}_seconds": round(outcome.seconds, 2),
                f"{method}_stop_reason": outcome.stop_reason,
                f"{method}_composed": sum(e.n_composed for e in outcome.epochs),
                f"{method}_composed_solving": sum(e.n_composed_solving for e in outcome.epochs),
                f"{method}_best_accuracy": [round(e.best_accuracy, 4) for e in outcome.epochs],
                f"{method}_best_code": [e.best_code for e in outcome.epochs],
            }
        return row


def _score_greedy(task: EvalTask, greedy: Callable[[EvalTask], list[str]], timeout_s: float,
                  n_workers: int | None) -> ProgramScore:
    (result,) = score_tasks([task], [[parse_code(r) for r in greedy(task)]], timeout_s=timeout_s, n_workers=n_workers)
    return result.programs[0]


def compare_task(
    task: EvalTask, sampler: Sampler, tuner: Tuner, settings: LoopSettings, *,
    greedy: Callable[[EvalTask], list[str]],
    on_epoch: Callable[[str, EpochRecord], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> TaskComparison:
    """HER, then sampling from the reset model with HER's epoch cap (see the module), then greedy decoding."""
    def recorder(method: str):
        return None if on_epoch is None else (lambda record: on_epoch(method, record))

    her = run_task(task, sampler, tuner, settings, on_epoch=recorder("her"), clock=clock)
    if her.skipped:
        skipped = TaskOutcome(task=task, skipped=her.skipped, stop_reason="skipped")
        return TaskComparison(task=task, sampling=skipped, her=her)
    tuner.reset()  # the sampling arm and greedy decoding read the initial weights
    epochs = len(her.epochs) if her.stop_reason == "time_budget" else settings.max_epochs
    sampling = run_task(task, sampler, None, dataclasses.replace(settings, max_epochs=epochs),
                        on_epoch=recorder("sampling"), clock=clock)
    started = clock()
    best = _score_greedy(task, greedy, settings.timeout_s, settings.n_workers)
    return TaskComparison(task=task, sampling=sampling, her=her, greedy=best, greedy_seconds=clock() - started)


def summarize(comparisons: list[TaskComparison]) -> dict:
    """comparison.json: exactly COMPARISON_KEYS, over the tasks that were not skipped."""
    done = [c for c in comparisons if not c.skipped]
    summary = {"tasks": len(done), "solved_greedy": sum(c.greedy_solved for c in done)}
    summary |= {f"solved_{m}": sum(c.arm(m).solved for c in done) for m in METHODS}
    summary |= {f"executions_{m}": sum(executions(c.arm(m)) for c in done) for m in METHODS}
    summary |= {f"seconds_{m}": round(sum(c.arm(m).seconds for c in done), 2) for m in METHODS}
    return {key: summary[key] for key in COMPARISON_KEYS}


_COUNTS = ("n_sampled", "n_unique_replies", "n_parsed", "n_unique_programs", "n_ran", "n_unique_outputs",
           "n_new_tasks", "n_composed", "n_composed_solving")


def epoch_rates(comparisons: list[TaskComparison]) -> list[dict]:
    """Per arm and epoch, over the tasks still running then: what was sampled, how much of it was distinct, parsed
    as code, ran, and drew distinct outputs (the rates are per sampled reply); the tasks' mean best and mean pixel
    accuracy on the train pairs."""
    rows = []
    for method in METHODS:
        outcomes = [c.arm(method) for c in comparisons if not c.skipped]
        for epoch in range(1, max((len(o.epochs) for o in outcomes), default=0) + 1):
            records = [o.epochs[epoch - 1] for o in outcomes if len(o.epochs) >= epoch]
            row = {"record": "epoch_rates", "method": method, "epoch": epoch, "n_tasks": len(records)}
            row |= {k: sum(getattr(r, k) for r in records) for k in _COUNTS}
            sampled = row["n_sampled"]
            for k in ("n_unique_replies", "n_parsed", "n_unique_programs", "n_ran", "n_unique_outputs"):
                row[k.replace("n_", "", 1) + "_rate"] = round(row[k] / sampled, 4) if sampled else None
            row["n_solved"] = sum(r.solved for r in records)
            errors = Counter()
            for r in records:
                if r.top_error:
                    message, _, count = r.top_error.rpartition(" (")
                    errors[message] += int(count.rstrip(")"))
            top = errors.most_common(1)
            row["top_error"] = f"{top[0][0]} ({top[0][1]})" if top else None
            # Whether the arm gets closer: HER that learns raises these; one that only concentrates lowers diversity.
            row["mean_best_accuracy"] = round(sum(r.best_accuracy for r in records) / len(records), 4)
            row["mean_accuracy"] = round(sum(r.mean_accuracy for r in records) / len(records), 4)
            rows.append(row)
    return rows


def format_rates(rows: list[dict], *, markdown: bool = False) -> str:
    from arc25.infer.report import percent, table

    header = ["arm", "epoch", "tasks", "sampled", "unique replies", "parsed", "unique programs", "ran",
              "unique outputs", "new tasks", "best acc", "mean acc", "solved"]
    cells = [[r["method"], str(r["epoch"]), str(r["n_tasks"]), str(r["n_sampled"]),
              f"{r['n_unique_replies']} ({percent(r['unique_replies_rate'], 0)})",
              f"{r['n_parsed']} ({percent(r['parsed_rate'], 0)})",
              f"{r['n_unique_programs']} ({percent(r['unique_programs_rate'], 0)})",
              f"{r['n_ran']} ({percent(r['ran_rate'], 0)})",
              f"{r['n_unique_outputs']} ({percent(r['unique_outputs_rate'], 0)})",
              str(r["n_new_tasks"]), f"{r['mean_best_accuracy']:.3f}", f"{r['mean_accuracy']:.3f}",
              str(r["n_solved"])] for r in rows]
    return table(header, cells, markdown=markdown)


def task_table(comparisons: list[TaskComparison], *, markdown: bool = True) -> str:
    """Per task: greedy, and for each arm after how many executed programs it solved ("-": not within its budget)."""
    from arc25.infer.report import table

    def arm(outcome: TaskOutcome) -> str:
        if outcome.skipped:
            return "skipped"
        after = solved_after(outcome)
        best = max((e.best_accuracy for e in outcome.epochs), default=0.0)
        test = "" if outcome.test_solved is None else ", test " + ("right" if outcome.test_solved else "wrong")
        return (f"after {after}{test}" if after is not None
                else f"- ({executions(outcome)} run, best {best:.2f})")

    header = ["task", "draws", "greedy", "sampling", "her", "sampling s", "her s"]
    rows = [[c.task.task_id, "-" if c.task.n_draws is None else str(c.task.n_draws),
             "skipped" if c.skipped else "yes" if c.greedy_solved else "no", arm(c.sampling), arm(c.her),
             f"{c.sampling.seconds:.1f}", f"{c.her.seconds:.1f}"] for c in comparisons]
    return table(header, rows, markdown=markdown)


def plot_solved_against_executions(comparisons: list[TaskComparison], path: Path, *, title: str = "") -> None:
    """Tasks solved against sampled programs executed per task, for both arms, greedy as a floor."""
    from matplotlib.figure import Figure

    done = [c for c in comparisons if not c.skipped]
    budget = max((executions(c.arm(m)) for c in done for m in METHODS), default=1)
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.add_subplot()
    for method, style in (("sampling", "s-"), ("her", "o-")):
        points = sorted(x for x in (solved_after(c.arm(method)) for c in done) if x is not None)
        xs, ys = [0], [0]
        for k, x in enumerate(points, start=1):
            xs += [x, x]
            ys += [k - 1, k]
        xs.append(budget)
        ys.append(len(points))
        ax.plot(xs, ys, style, markevery=list(range(2, len(xs) - 1, 2)), label=f"{method} ({len(points)})")
    greedy = sum(c.greedy_solved for c in done)
    ax.axhline(greedy, color="grey", linestyle="--", label=f"greedy ({greedy})")
    ax.set_xlabel("sampled programs executed per task")
    ax.set_ylabel(f"tasks solved (of {len(done)})")
    ax.set_xlim(0, budget)
    ax.set_ylim(-0.2, max(len(done), 1) + 0.2)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, format="png")
