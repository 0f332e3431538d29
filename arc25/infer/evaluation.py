"""Evaluate a model on a task set: sample programs, score them, and report the results.

The pieces live where they belong: prompts and sampling in ``arc25.infer.generation``, running and scoring programs
and their totals in ``arc25.infer.scoring``, table and file formats in ``arc25.infer.report``. This module strings them
together for a loaded model and writes the evaluation's folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from arc25.cli.args import EvalSettings
from arc25.infer.generation import Completion, encode_prompts, generate_completions, too_long
from arc25.prompts.prompting import parse_code
from arc25.infer.report import append_jsonl, percent, safe_name, table
from arc25.infer.scoring import TaskResult, score_tasks
from arc25.tasks.tasksets import EvalTask

__all__ = ["EvalSettings", "evaluate", "format_table", "sample_replies", "write_report"]


# --- sampling ---------------------------------------------------------------------------------------


def sample_replies(
    model, tokenizer, tasks: list[EvalTask], settings: EvalSettings, *, progress: bool = True,
) -> tuple[list[list[Completion]], list[int], list[str | None]]:
    """Sample settings.n_programs replies per task: (replies per task, prompt lengths, skip reason per task)."""
    prompts = encode_prompts(tokenizer, tasks, settings.grid_encoder, settings.prompt_style)
    skipped = [too_long(len(p), settings.max_new_tokens, settings.max_seq_len) for p in prompts]
    fitting = [i for i, reason in enumerate(skipped) if reason is None]
    replies: list[list[Completion]] = [[] for _ in tasks]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(fitting) * settings.n_programs, desc="generating", unit="program")
    update = bar.update if bar is not None else None
    try:
        if settings.greedy:
            done = generate_completions(
                model, tokenizer, [prompts[i] for i in fitting], max_new_tokens=settings.max_new_tokens,
                temperature=0.0, batch_size=settings.batch_size, progress=update,
            )
            for i, completion in zip(fitting, done):
                replies[i].append(completion)
        if settings.n_samples:
            rows = [i for i in fitting for _ in range(settings.n_samples)]
            done = generate_completions(
                model, tokenizer, [prompts[i] for i in rows], max_new_tokens=settings.max_new_tokens,
                temperature=settings.temperature, seed=settings.random_seed, batch_size=settings.batch_size, progress=update,
            )
            for i, completion in zip(rows, done):
                replies[i].append(completion)
    finally:
        if bar is not None:
            bar.close()
    return replies, [len(p) for p in prompts], skipped


# --- scoring ----------------------------------------------------------------------------------------


def evaluate(model, tokenizer, tasks: list[EvalTask], settings: EvalSettings, *, progress: bool = True) -> list[TaskResult]:
    """Sample, parse, run and score programs for every task; too-long tasks come back skipped, not raised."""
    replies, prompt_tokens, skipped = sample_replies(model, tokenizer, tasks, settings, progress=progress)
    codes = [[parse_code(c.text) for c in row] for row in replies]
    results = score_tasks(tasks, codes, timeout_s=settings.timeout_s, n_workers=settings.n_workers)
    for result, row, n_tokens, reason in zip(results, replies, prompt_tokens, skipped):
        result.prompt_tokens = n_tokens
        result.skipped = reason
        for program, completion in zip(result.programs, row):
            program.reply = completion.text
            program.n_tokens = completion.n_tokens
            program.finished = completion.finished
    return results


# --- report -----------------------------------------------------------------------------------------


def format_table(totals: dict) -> str:
    """A plain-text table: one row for all tasks, then one per task set (if several) and per number of draws."""
    header = ("group", "tasks", "skipped", "parsed", "ran", "pixel acc", "train solved", "test solved")
    rows = []
    groups = [("all", totals["all"])] + list(totals.get("by_task_set", {}).items())
    groups += [(f"draws={k}", v) for k, v in totals["by_draws"].items()]
    for name, t in groups:
        test = "-" if not t["n_test_tasks"] else f"{t['n_test_solved']}/{t['n_test_tasks']} ({percent(t['test_solve_rate'])})"
        rows.append((
            name, str(t["n_tasks"]), str(t["n_skipped"]), percent(t["parse_rate"]), percent(t["run_rate"]),
            percent(t["pixel_accuracy"]), f"{t['n_train_solved']}/{t['n_tasks']} ({percent(t['train_solve_rate'])})",
            test,
        ))
    return table(header, rows)


def _plot_pair(result: TaskResult) -> tuple[int, str] | None:
    """Which pair to draw: the first scored test pair, else the first train pair the best program gets wrong."""
    task, best = result.task, result.best
    n_train = len(task.train_inputs)
    for k, target in enumerate(task.test_outputs):
        if target is not None:
            return n_train + k, f"test {k + 1}"
    if best is not None:
        for k, accuracy in enumerate(best.train_accuracy):
            if accuracy < 1.0:
                return k, f"train {k + 1}"
    return 0, "train 1"


def plot_result(result: TaskResult, path: Path) -> None:
    """PNG of the chosen pair: input, target and the best program's prediction."""
    from arc25.infer.plot import plot_prediction

    task, best = result.task, result.best
    index, label = _plot_pair(result)
    n_train = len(task.train_inputs)
    grid_in = task.train_inputs[index] if index < n_train else task.test_inputs[index - n_train]
    target = task.train_outputs[index] if index < n_train else task.test_outputs[index - n_train]
    prediction = None
    if best is not None and best.predictions is not None and index < len(best.predictions):
        candidate = best.predictions[index]
        prediction = candidate if isinstance(candidate, np.ndarray) and candidate.ndim == 2 else None
    verdict = "train solved" if result.train_solved else "train not solved"
    if result.test_solved is not None:
        verdict += ", test solved" if result.test_solved else ", test not solved"
    plot_prediction(grid_in, target, prediction, path, title=f"{task.task_id} ({label}): {verdict}")


def write_report(out_dir: Path, results: list[TaskResult], totals: dict, config: dict, n_plots: int = 8) -> list[Path]:
    """Write summary.json (config + totals), tasks.jsonl (one task per line) and up to n_plots PNGs; return the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = out_dir / "summary.json"
    summary.write_text(json.dumps({"config": config, "totals": totals}, indent=2))
    per_task = out_dir / "tasks.jsonl"
    per_task.unlink(missing_ok=True)
    for result in results:
        append_jsonl(per_task, result.to_json())
    written = [summary, per_task]
    plotted = [r for r in results if r.skipped is None][:n_plots]
    # Ids are unique within a task set only, so several sets put the set's name in front.
    several = len({r.task.task_set for r in results}) > 1
    for result in plotted:
        name = f"{result.task.task_set}_{result.task.task_id}" if several else result.task.task_id
        path = out_dir / "plots" / f"{safe_name(name)}.png"
        plot_result(result, path)
        written.append(path)
    return written

