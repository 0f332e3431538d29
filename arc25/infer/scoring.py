"""Score candidate programs on evaluation tasks and sum the scores up.

``score_tasks`` runs each task's programs in the sandbox: does each parse, run, and reproduce the train and test
outputs. ``summarize`` turns the results into totals: overall, per task set and per number of draws. Neither
needs a model, so ground-truth code and hand-written programs are scored exactly as the model's are."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from arc25.tasks.tasksets import EvalTask

__all__ = ["ProgramScore", "TaskResult", "pixel_accuracy", "score_tasks", "summarize"]


def pixel_accuracy(prediction, target) -> float:
    """Fraction of cells equal to the target's; 0 when the prediction is not a grid of the target's shape."""
    if not isinstance(prediction, np.ndarray) or prediction.shape != np.shape(target):
        return 0.0
    return float(np.mean(prediction == target))


@dataclass
class ProgramScore:
    """How one candidate program did on one task."""

    code: str | None
    parses: bool
    runs: bool = False
    error: str | None = None
    train_accuracy: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    train_solved: bool = False
    test_solved: bool | None = None
    # Outputs on train inputs then test inputs; kept in memory for plots, never written to JSON.
    predictions: list | None = None
    reply: str | None = None
    n_tokens: int | None = None
    finished: bool | None = None

    @property
    def mean_train_accuracy(self) -> float:
        return float(np.mean(self.train_accuracy)) if self.train_accuracy else 0.0

    def rank_key(self) -> tuple:
        """Bigger is better; only train pairs count, so choosing the best never peeks at the test answer."""
        return (self.train_solved, self.mean_train_accuracy, self.runs, self.parses)

    def to_json(self) -> dict:
        """The score without the predicted grids."""
        return {
            "code": self.code, "parses": self.parses, "runs": self.runs, "error": self.error,
            "train_accuracy": [round(a, 4) for a in self.train_accuracy],
            "test_accuracy": [round(a, 4) for a in self.test_accuracy],
            "train_solved": self.train_solved, "test_solved": self.test_solved,
            "n_tokens": self.n_tokens, "finished": self.finished,
        }


@dataclass
class TaskResult:
    """All candidate programs of one task, or why the task was skipped."""

    task: EvalTask
    programs: list[ProgramScore] = field(default_factory=list)
    skipped: str | None = None
    prompt_tokens: int | None = None

    @property
    def best_index(self) -> int | None:
        """Index of the best program by train score; ties go to the earliest (the greedy one comes first)."""
        if not self.programs:
            return None
        return max(range(len(self.programs)), key=lambda i: (self.programs[i].rank_key(), -i))

    @property
    def best(self) -> ProgramScore | None:
        index = self.best_index
        return None if index is None else self.programs[index]

    @property
    def train_solved(self) -> bool:
        """Some program reproduces every train pair (pass@k on the shown pairs)."""
        return any(p.train_solved for p in self.programs)

    @property
    def test_solved(self) -> bool | None:
        """The best program by train score solves every scored test pair; None when the task has none."""
        if not self.task.has_test:
            return None
        best = self.best
        return bool(best is not None and best.test_solved)

    @property
    def test_solved_any(self) -> bool | None:
        """Some program solves the test pairs (an oracle picking by the hidden answer); None without test pairs."""
        if not self.task.has_test:
            return None
        return any(bool(p.test_solved) for p in self.programs)

    def to_json(self) -> dict:
        """Task id, verdicts, the best program and every program's score."""
        task = self.task
        best = self.best
        return {
            "task_id": task.task_id, "source": task.source, "n_draws": task.n_draws,
            "n_train": len(task.train_inputs), "n_test": len(task.test_inputs),
            "skipped": self.skipped, "prompt_tokens": self.prompt_tokens,
            "train_solved": self.train_solved, "test_solved": self.test_solved, "test_solved_any": self.test_solved_any,
            "best_index": self.best_index,
            "best": None if best is None else dict(best.to_json(), reply=best.reply),
            "programs": [p.to_json() for p in self.programs],
        }


def _score(task: EvalTask, code: str, outcome) -> ProgramScore:
    n_train = len(task.train_inputs)
    if isinstance(outcome, list) and len(outcome) != n_train + len(task.test_inputs):
        # zip() would score a short list on its first pairs only, and could call a partial answer solved.
        outcome = ValueError(f"program returned {len(outcome)} grids for {n_train + len(task.test_inputs)} inputs")
    if not isinstance(outcome, list):
        # Keep the first line only: tracebacks of hostile programs can be long.
        message = str(outcome).strip().split("\n")[0][:300] or type(outcome).__name__
        return ProgramScore(code=code, parses=True, runs=False, error=message,
                            train_accuracy=[0.0] * n_train, test_solved=False if task.has_test else None)
    train = [pixel_accuracy(p, t) for p, t in zip(outcome[:n_train], task.train_outputs)]
    scored_test = [(p, t) for p, t in zip(outcome[n_train:], task.test_outputs) if t is not None]
    test = [pixel_accuracy(p, t) for p, t in scored_test]
    return ProgramScore(
        code=code, parses=True, runs=True, train_accuracy=train, test_accuracy=test,
        train_solved=all(a == 1.0 for a in train),
        test_solved=all(a == 1.0 for a in test) if scored_test else None,
        predictions=list(outcome),
    )


def score_tasks(
    tasks: list[EvalTask],
    programs: list[list[str | None]],
    *,
    timeout_s: float = 1.0,
    n_workers: int | None = None,
) -> list[TaskResult]:
    """Run every task's programs (None = no code could be parsed) in the sandbox on train + test inputs and score
    them: one TaskResult per task, its programs in the order given.

    Identical programs of one task run once. Hostile or broken programs score zero; nothing they do stops the rest.
    """
    from arc25.sandbox import execute_batch

    if len(programs) != len(tasks):
        raise ValueError(f"need one list of programs per task: {len(tasks)} tasks, {len(programs)} program lists")
    jobs: dict[tuple[int, str], int] = {}
    job_codes: list[str] = []
    job_inputs: list[list[np.ndarray]] = []
    for t, (task, codes) in enumerate(zip(tasks, programs)):
        for code in codes:
            if code is not None and (t, code) not in jobs:
                jobs[(t, code)] = len(job_codes)
                job_codes.append(code)
                job_inputs.append(list(task.train_inputs) + list(task.test_inputs))
    outcomes = execute_batch(job_codes, job_inputs, timeout_s=timeout_s, n_workers=n_workers) if job_codes else []
    results = []
    for t, (task, codes) in enumerate(zip(tasks, programs)):
        row = []
        for code in codes:
            if code is None:
                row.append(ProgramScore(code=None, parses=False, error="no code block in the reply",
                                        train_accuracy=[0.0] * len(task.train_inputs),
                                        test_solved=False if task.has_test else None))
            else:
                row.append(_score(task, code, outcomes[jobs[(t, code)]]))
        results.append(TaskResult(task=task, programs=row))
    return results


# --- totals -----------------------------------------------------------------------------------------


def _rate(numerator: float, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _group_totals(results: list[TaskResult]) -> dict:
    programs = [p for r in results for p in r.programs]
    with_test = [r for r in results if r.task.has_test]
    n = len(results)
    # Skipped tasks count as failures: a model whose prompts do not fit has not solved them.
    best_accuracy = [r.best.mean_train_accuracy if r.best is not None else 0.0 for r in results]
    n_train_solved = sum(r.train_solved for r in results)
    n_test_solved = sum(bool(r.test_solved) for r in with_test)
    return {
        "n_tasks": n,
        "n_skipped": sum(r.skipped is not None for r in results),
        "n_programs": len(programs),
        "parse_rate": _rate(sum(p.parses for p in programs), len(programs)),
        "run_rate": _rate(sum(p.runs for p in programs), len(programs)),
        "pixel_accuracy": float(np.mean(best_accuracy)) if n else None,
        "n_train_solved": n_train_solved,
        "train_solve_rate": _rate(n_train_solved, n),
        "n_test_tasks": len(with_test),
        "n_test_solved": n_test_solved,
        "test_solve_rate": _rate(n_test_solved, len(with_test)),
        "n_test_solved_any": sum(bool(r.test_solved_any) for r in with_test),
    }


def summarize(results: list[TaskResult]) -> dict:
    """Totals over all tasks, per task set (when there are several) and per number of draws of synthetic tasks."""
    by_set: dict[str, list[TaskResult]] = {}
    by_draws: dict[int, list[TaskResult]] = {}
    for r in results:
        by_set.setdefault(r.task.task_set, []).append(r)
        if r.task.n_draws is not None:
            by_draws.setdefault(r.task.n_draws, []).append(r)
    return {
        "all": _group_totals(results),
        "by_task_set": {name: _group_totals(group) for name, group in by_set.items()} if len(by_set) > 1 else {},
        "by_draws": {str(k): _group_totals(by_draws[k]) for k in sorted(by_draws)},
    }
