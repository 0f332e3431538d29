"""The test-time loop for one task: sample programs, run and score them, relabel, fine-tune; until solved.

The sampler and the tuner are parameters, so a deterministic stand-in sampler (a list of replies per epoch)
drives the same loop in tests as the model does in a run.
"""

from __future__ import annotations

import re
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np

from arc25.her.relabel import compose_programs, extend_programs, outputs_key, relabel
from arc25.prompts.prompting import parse_code
from arc25.infer.scoring import ProgramScore, score_tasks
from arc25.tasks import derive_seed
from arc25.tasks.tasksets import EvalTask

__all__ = ["RELABELLED_BY", "EpochRecord", "LoopSettings", "ModelSampler", "Sampler", "TaskOutcome", "Tuner", "run_task",
           "top_error"]


class Sampler(Protocol):
    def __call__(self, task: EvalTask, epoch: int, seed: int) -> list[str]: ...


class Tuner(Protocol):
    def reset(self) -> None: ...

    def train(self, tasks: list) -> dict: ...

    def losses(self, tasks: list) -> list[float]: ...


@dataclass
class LoopSettings:
    max_epochs: int = 10
    time_budget_s: float = 900.0
    timeout_s: float = 1.0
    n_workers: int | None = None
    random_seed: int = 0
    # Train on only k relabelled tasks (None: all): a narrower, guided step. Which k: "accuracy", those nearest the
    # real task; "loss", those the model reads worst before training (on the 2026-12-07 runs the relabelled tasks'
    # mean loss was already ~0.09 nats a token, so most of a full pass only sharpened what the model wrote).
    max_relabelled: int | None = None
    relabelled_by: str = "accuracy"
    # Also relabel this many programs per epoch made by joining two sampled programs (relabel.compose_programs): tasks
    # with more draws than the model writes. They are training data only; a solution must still be sampled.
    n_composed: int = 0
    # And this many made by appending one statement of another sampled program to the best ones
    # (relabel.extend_programs): the draw the best program misses, when some other sample wrote it. Training data
    # only, counted with the composed programs.
    n_extended: int = 0


@dataclass
class EpochRecord:
    """What one epoch of one task did; one line of results.jsonl."""

    task_id: str
    epoch: int
    n_sampled: int = 0
    # Distinct reply texts: a model that has collapsed repeats itself, whatever the temperature.
    n_unique_replies: int = 0
    n_parsed: int = 0
    n_unique_programs: int = 0
    n_ran: int = 0
    # The commonest reason a parsed program did not run (numbers as N, so one cause counts once), with its count.
    top_error: str | None = None
    best_accuracy: float = 0.0
    mean_accuracy: float = 0.0
    min_accuracy: float = 0.0
    n_unique_outputs: int = 0
    n_new_tasks: int = 0
    n_seen_tasks: int = 0
    n_unchanged: int = 0
    n_composed: int = 0
    # Composed programs that already solve the train pairs: what searching compositions alone would have found.
    n_composed_solving: int = 0
    best_composed_accuracy: float | None = None
    n_trained: int = 0
    train_loss: float | None = None
    solved: bool = False
    test_solved: bool | None = None
    sample_s: float = 0.0
    execute_s: float = 0.0
    train_s: float = 0.0
    predictions_per_s: float | None = None
    best_code: str | None = None

    def to_json(self) -> dict:
        out = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}
        out["record"] = "epoch"
        return out


@dataclass
class TaskOutcome:
    """A task's epochs so far and how it ended; ``best_predictions`` (for plots) never go to JSON."""

    task: EvalTask
    epochs: list[EpochRecord] = field(default_factory=list)
    stop_reason: str | None = None
    skipped: str | None = None
    solution: str | None = None
    test_solved: bool | None = None
    seconds: float = 0.0
    best_predictions: list = field(default_factory=list)

    @property
    def solved(self) -> bool:
        return self.solution is not None

    def to_json(self) -> dict:
        best = max(self.epochs, key=lambda e: e.best_accuracy, default=None)
        return {
            "record": "task", "task_id": self.task.task_id, "task_set": self.task.task_set, "skipped": self.skipped,
            "stop_reason": self.stop_reason, "solved": self.solved, "test_solved": self.test_solved,
            "n_epochs": len(self.epochs), "seconds": round(self.seconds, 2),
            "best_accuracy": None if best is None else round(best.best_accuracy, 4), "solution": self.solution,
        }


def top_error(scores: list[ProgramScore]) -> str | None:
    """``"<message> (<count>)"`` for the commonest error of the programs that parsed but did not run."""
    errors = Counter(re.sub(r"\d+", "N", s.error or "") for s in scores if s.parses and not s.runs)
    if not errors:
        return None
    message, count = errors.most_common(1)[0]
    return f"{message[:160]} ({count})"


RELABELLED_BY = ("accuracy", "loss")


def _select(fresh: list, k: int, by: str, tuner: Tuner) -> list:
    """k of the relabelled tasks (sorted worst to best by accuracy), kept in that order."""
    if len(fresh) <= k:
        return fresh
    if by == "accuracy":
        return fresh[-k:]
    if by != "loss":
        raise ValueError(f"relabelled_by must be one of {', '.join(RELABELLED_BY)}; got {by!r}")
    losses = tuner.losses(fresh)
    # Highest loss first; equal losses keep relabel's order, so the choice is deterministic.
    keep = sorted(range(len(fresh)), key=lambda i: -losses[i])[:k]
    return [fresh[i] for i in sorted(keep)]


def _composed_scores(task: EvalTask, scores: list[ProgramScore], settings: LoopSettings) -> list[ProgramScore]:
    n_train = len(task.train_inputs)
    codes = compose_programs(scores, settings.n_composed, n_train)
    made = set(codes)
    codes += [c for c in extend_programs(scores, settings.n_extended, n_train) if c not in made]
    if not codes:
        return []
    (result,) = score_tasks([task], [codes], timeout_s=settings.timeout_s, n_workers=settings.n_workers)
    return result.programs


def _first_solving(scores: list[ProgramScore]) -> ProgramScore | None:
    return next((s for s in scores if s.train_solved), None)


def run_task(
    task: EvalTask,
    sampler: Sampler,
    tuner: Tuner | None,
    settings: LoopSettings,
    *,
    outcome: TaskOutcome | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> TaskOutcome:
    """Epochs of sample -> run -> relabel -> fine-tune until a program solves every train pair, --max-epochs, or
    the time budget; ``outcome`` (if given) is filled in as it goes, so an interrupted task keeps what it did.

    The tuner is reset first: every task starts from the run's initial weights. No training follows the last
    sampling (nothing would use it). Without a tuner the loop is plain sampling, epoch after epoch with fresh seeds:
    nothing is relabelled or trained, and everything else (sampler, seeds, scoring, stopping) is the same.
    """
    outcome = outcome or TaskOutcome(task=task)
    started = clock()
    skip = getattr(sampler, "skip_reason", None)
    reason = skip(task) if skip is not None else None
    if reason is not None:
        outcome.skipped, outcome.stop_reason = reason, "skipped"
        return outcome
    if tuner is not None:
        tuner.reset()
    seen: set[str] = set()
    n_train = len(task.train_inputs)
    for epoch in range(1, settings.max_epochs + 1):
        record = EpochRecord(task_id=task.task_id, epoch=epoch)
        outcome.epochs.append(record)
        t0 = clock()
        replies = sampler(task, epoch, derive_seed(settings.random_seed, epoch))
        t1 = clock()
        codes = [parse_code(r) for r in replies]
        (result,) = score_tasks([task], [codes], timeout_s=settings.timeout_s, n_workers=settings.n_workers)
        scores = result.programs
        record.sample_s = t1 - t0
        record.n_sampled = len(replies)
        record.predictions_per_s = len(replies) / record.sample_s if record.sample_s > 0 else None
        record.n_unique_replies = len(set(replies))
        record.n_parsed = sum(s.parses for s in scores)
        record.n_unique_programs = len({s.code for s in scores if s.parses})
        record.n_ran = sum(s.runs for s in scores)
        record.top_error = top_error(scores)
        accuracies = [s.mean_train_accuracy for s in scores] or [0.0]
        record.best_accuracy, record.mean_accuracy = float(max(accuracies)), float(np.mean(accuracies))
        record.min_accuracy = float(min(accuracies))
        best = max(scores, key=lambda s: s.rank_key(), default=None)
        record.best_code = best.code if best is not None else None
        outcome.best_predictions.append(
            best.predictions[:n_train] if best is not None and best.predictions is not None else None)
        solving = _first_solving(scores)
        last = (epoch == settings.max_epochs or solving is not None
                or clock() - started >= settings.time_budget_s)
        fresh = []
        if solving is None and tuner is not None:
            composed = _composed_scores(task, scores, settings) if not last else []
            record.n_composed = len(composed)
            record.n_composed_solving = sum(s.train_solved for s in composed)
            if composed:
                record.best_composed_accuracy = max(s.mean_train_accuracy for s in composed)
            fresh, stats = relabel(task.train_inputs, scores + composed, seen, timeout_s=settings.timeout_s,
                                   n_workers=settings.n_workers)
            record.n_unchanged, record.n_new_tasks, record.n_seen_tasks = stats.n_unchanged, stats.n_new, stats.n_seen
            if settings.max_relabelled is not None and not last:
                fresh = _select(fresh, settings.max_relabelled, settings.relabelled_by, tuner)
        record.n_unique_outputs = len({outputs_key(s.predictions[:n_train]) for s in scores
                                       if s.runs and s.predictions is not None})
        record.execute_s = clock() - t1
        if solving is not None:
            record.solved, record.test_solved, record.best_code = True, solving.test_solved, solving.code
            outcome.solution, outcome.test_solved = solving.code, solving.test_solved
            outcome.best_predictions[-1] = solving.predictions[:n_train]
        if not last and fresh and tuner is not None:
            t2 = clock()
            trained = tuner.train(fresh)
            record.train_s = clock() - t2
            record.n_trained, record.train_loss = trained["n_examples"], trained["loss"]
        if on_epoch is not None:
            on_epoch(record)
        if last:
            outcome.stop_reason = ("solved" if solving is not None else
                                   "max_epochs" if epoch == settings.max_epochs else "time_budget")
            break
        if clock() - started >= settings.time_budget_s:
            outcome.stop_reason = "time_budget"
            break
    outcome.seconds = clock() - started
    return outcome


class ModelSampler:
    """Sample replies from a loaded model: a few at low temperature, many at high, each group from one prefill."""

    def __init__(self, model, tokenizer, *, encoder_spec: str, prompt_style: str, max_new_tokens: int,
                 max_seq_len: int, n_low: int, low_temperature: float, n_high: int, high_temperature: float,
                 top_p: float, batch_size: int, autocast_dtype=None):
        self.model, self.tokenizer = model, tokenizer
        self.encoder_spec, self.prompt_style = encoder_spec, prompt_style
        self.max_new_tokens, self.max_seq_len = max_new_tokens, max_seq_len
        self.groups = [(n_low, low_temperature), (n_high, high_temperature)]
        self.top_p, self.batch_size, self.autocast_dtype = top_p, batch_size, autocast_dtype
        self._prompts: dict[int, list[int]] = {}
        self._encode = None

    def prompt(self, task: EvalTask) -> list[int]:
        from arc25.infer.generation import PromptEncoder

        if self._encode is None:
            self._encode = PromptEncoder(self.tokenizer, self.encoder_spec, self.prompt_style)
        key = id(task)
        if key not in self._prompts:
            self._prompts = {key: self._encode(task)}
        return self._prompts[key]

    def skip_reason(self, task: EvalTask) -> str | None:
        from arc25.infer.generation import too_long

        return too_long(len(self.prompt(task)), self.max_new_tokens, self.max_seq_len)

    def _autocast(self):
        import contextlib

        import torch

        device = self.model.get_input_embeddings().weight.device
        return (torch.autocast(device.type, dtype=self.autocast_dtype) if self.autocast_dtype is not None
                else contextlib.nullcontext())

    def greedy(self, task: EvalTask) -> list[str]:
        """The one reply of greedy decoding (the floor sampling and HER are compared against)."""
        from arc25.infer.generation import generate_completions

        with self._autocast():
            (done,) = generate_completions(self.model, self.tokenizer, [self.prompt(task)],
                                           max_new_tokens=self.max_new_tokens, temperature=0.0)
        return [done.text]

    def __call__(self, task: EvalTask, epoch: int, seed: int) -> list[str]:
        import torch

        from arc25.infer.generation import sample_completions

        prompt = self.prompt(task)
        replies = []
        with self._autocast():
            for k, (n, temperature) in enumerate(self.groups):
                while True:
                    try:
                        done = sample_completions(
                            self.model, self.tokenizer, prompt, n, max_new_tokens=self.max_new_tokens,
                            temperature=temperature, top_p=self.top_p, seed=derive_seed(seed, k),
                            batch_size=self.batch_size)
                        break
                    except torch.cuda.OutOfMemoryError:
                        # Long prompts (real ARC) can outgrow the KV cache of a full batch: halve it for the
                        # rest of the run rather than lose the run. Replies then depend on the smaller batch.
                        if self.batch_size == 1:
                            raise
                        self.batch_size = max(1, self.batch_size // 2)
                        torch.cuda.empty_cache()
                        warnings.warn(f"out of GPU memory while sampling; --sampling-batch-size now {self.batch_size}")
                replies += [c.text for c in done]
        return replies
