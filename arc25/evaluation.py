"""Evaluate a model on a task set: sample programs, run them in the sandbox, score them, summarise and report.

Scoring needs no model (``score_tasks`` takes programs and tasks), so ground-truth code and hand-written
programs go through exactly the path the model's programs do.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np

from arc25.args import EvalSettings
from arc25.encoders import get_encoder
from arc25.generation import Completion, generate_completions, prompt_text
from arc25.prompting import DEFAULT_PROMPT_STYLE, parse_code
from arc25.scoring import TaskResult, score_programs
from arc25.tasksets import EvalTask

__all__ = [
    "EvalSettings",
    "TaskResult",
    "encode_prompts",
    "evaluate",
    "format_table",
    "sample_replies",
    "score_tasks",
    "summarize",
    "write_report",
]


# --- sampling ---------------------------------------------------------------------------------------


def encode_prompts(
    tokenizer, tasks: list[EvalTask], encoder_spec: str, prompt_style: str = DEFAULT_PROMPT_STYLE,
) -> list[list[int]]:
    """Token ids of each task's inference prompt (train pairs only)."""
    encoder = get_encoder(encoder_spec)
    texts = [prompt_text(tokenizer, t.train_inputs, t.train_outputs, encoder, prompt_style) for t in tasks]
    # The chat template already wrote any special tokens the model expects, as training's tokenisation assumes.
    return [tokenizer(text, add_special_tokens=False)["input_ids"] for text in texts]


def too_long(n_prompt_tokens: int, settings: EvalSettings) -> str | None:
    """Why a prompt of this length is skipped, or None if it fits."""
    if n_prompt_tokens + settings.max_new_tokens <= settings.max_seq_len:
        return None
    return (f"prompt of {n_prompt_tokens} tokens + {settings.max_new_tokens} new tokens exceeds "
            f"--max-seq-len {settings.max_seq_len}")


def sample_replies(
    model, tokenizer, tasks: list[EvalTask], settings: EvalSettings, *, progress: bool = True,
) -> tuple[list[list[Completion]], list[int], list[str | None]]:
    """Sample settings.n_programs replies per task: (replies per task, prompt lengths, skip reason per task)."""
    prompts = encode_prompts(tokenizer, tasks, settings.grid_encoder, settings.prompt_style)
    skipped = [too_long(len(p), settings) for p in prompts]
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


def score_tasks(
    tasks: list[EvalTask],
    programs: list[list[str | None]],
    *,
    timeout_s: float = 1.0,
    n_workers: int | None = None,
) -> list[TaskResult]:
    """Score given programs (None = unparsable) on their tasks, with no model involved."""
    scores = score_programs(tasks, programs, timeout_s=timeout_s, n_workers=n_workers)
    return [TaskResult(task=task, programs=row) for task, row in zip(tasks, scores)]


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


def _percent(value: float | None) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.1f}%"


def format_table(totals: dict) -> str:
    """A plain-text table: one row for all tasks, then one per task set (if several) and per number of draws."""
    header = ("group", "tasks", "skipped", "parsed", "ran", "pixel acc", "train solved", "test solved")
    rows = [header]
    groups = [("all", totals["all"])] + list(totals.get("by_task_set", {}).items())
    groups += [(f"draws={k}", v) for k, v in totals["by_draws"].items()]
    for name, t in groups:
        test = "-" if not t["n_test_tasks"] else f"{t['n_test_solved']}/{t['n_test_tasks']} ({_percent(t['test_solve_rate'])})"
        rows.append((
            name, str(t["n_tasks"]), str(t["n_skipped"]), _percent(t["parse_rate"]), _percent(t["run_rate"]),
            _percent(t["pixel_accuracy"]), f"{t['n_train_solved']}/{t['n_tasks']} ({_percent(t['train_solve_rate'])})",
            test,
        ))
    widths = [max(len(row[c]) for row in rows) for c in range(len(header))]
    lines = []
    for k, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells))
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


# --- report -----------------------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


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
    from arc25.plot import plot_prediction

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
    with per_task.open("w") as f:
        for result in results:
            f.write(json.dumps(result.to_json()) + "\n")
    written = [summary, per_task]
    plotted = [r for r in results if r.skipped is None][:n_plots]
    # Ids are unique within a task set only, so several sets put the set's name in front.
    several = len({r.task.task_set for r in results}) > 1
    for result in plotted:
        name = f"{result.task.task_set}_{result.task.task_id}" if several else result.task.task_id
        path = out_dir / "plots" / f"{_UNSAFE.sub('_', name)}.png"
        plot_result(result, path)
        written.append(path)
    return written

