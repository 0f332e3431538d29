"""Search the generator families' slot spaces for programs that solve each task of a task set (no model).

    arc25-search --task-set arc-agi-1-training --budget-s 30 --output-dir runs/search-train
    arc25-search --task-set synthetic:arc-v2 --n 50 --budget-s 10 --output-dir runs/search-synthetic

For each task: enumerate the families' programs cheapest first, keep those that reproduce every train pair, answer
the test inputs with the first (up to two attempts with different answers, as ARC scores). Writes
<output-dir>/results.jsonl (one row per task: task_id, program = the first attempt's code or null, attempts,
correct, family, seconds, candidates), <output-dir>/summary.json and a Markdown table (also printed).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from arc25.cli import CliConfig, parse
from arc25.cli.args import OutputArgs, SeedArgs


@dataclass(kw_only=True)
class Args(SeedArgs, OutputArgs):
    output_dir: str = field()  # required
    task_set: str = "arc-agi-1-training"
    """Task set to search: synthetic[:MIXTURE], arc-agi-1-training, arc-agi-1-evaluation, arc-agi-2-*, json:PATH,
    squares:N or vertical-lines:N."""
    n: Optional[int] = None
    """Search the first N tasks of the task set (synthetic default 100; ARC: all)."""
    task_ids: Optional[str] = None
    """Only these tasks of the task set: comma-separated ids, or @FILE with one id per line."""
    budget_s: float = 30.0
    """CPU seconds per task; the search stops there and answers with what it found."""
    attempts: int = 2
    """Answers per task (ARC scores two): the search stops once it has this many with different test answers."""
    workers: int = 2
    """Processes searching tasks side by side (one task each)."""
    families: Optional[str] = None
    """Comma-separated families to search (default: all, and the whole-grid geometry baseline)."""

    def validate(self) -> None:
        from arc25.tasks.families import FAMILIES
        from arc25.tasks.tasksets import TASK_SETS

        if not self.budget_s > 0:
            raise ValueError(f"--budget-s must be > 0 CPU seconds, got {self.budget_s}")
        if self.n is not None and self.n < 1:
            raise ValueError(f"--n must be >= 1, got {self.n}")
        if not 1 <= self.attempts <= 3:
            raise ValueError(f"--attempts must be 1-3, got {self.attempts}")
        if self.workers < 1:
            raise ValueError(f"--workers must be >= 1, got {self.workers}")
        name = self.task_set.strip().partition(":")[0]
        if name not in TASK_SETS:
            raise ValueError(f"unknown task set {self.task_set!r}; valid: {', '.join(TASK_SETS)} "
                             "(synthetic[:MIXTURE], json:PATH, squares:N, vertical-lines:N take an argument)")
        if self.task_ids is not None and not self.ids():
            raise ValueError(f"--task-ids {self.task_ids!r} names no task")
        for family in self.family_names() or ():
            if family not in FAMILIES:
                raise ValueError(f"unknown family {family!r} in --families; valid: {', '.join(FAMILIES)}")

    def ids(self) -> list[str] | None:
        if not self.task_ids:
            return None
        if self.task_ids.startswith("@"):
            path = Path(self.task_ids[1:])
            if not path.is_file():
                raise ValueError(f"--task-ids {self.task_ids!r}: {path} is not a file (one task id per line)")
            return [line.strip() for line in path.read_text().splitlines() if line.strip()]
        return [t.strip() for t in self.task_ids.split(",") if t.strip()]

    def family_names(self) -> list[str] | None:
        return [f.strip() for f in self.families.split(",") if f.strip()] if self.families else None


def _search_one(job: tuple) -> dict:
    from arc25.arc.search import search_task
    from arc25.tasks.families import FAMILIES

    task, budget_s, names, attempts = job
    families = {n: FAMILIES[n] for n in names} if names else None
    result = search_task(task.task_id, task.train_inputs, task.train_outputs, task.test_inputs, task.test_outputs,
                         budget_s=budget_s, families=families, attempts=attempts)
    return {"task_id": task.task_id, "program": result.program, "attempts": result.attempts,
            "correct": result.correct, "family": result.family, "source_family": task.source or None,
            "seconds": result.seconds, "candidates": result.candidates, "exhausted": result.exhausted}


def summarize(rows: list[dict]) -> dict:
    """Totals and per-family counts of found (train reproduced) and correct (a test-scored attempt right) tasks."""
    found = [r for r in rows if r["program"] is not None]
    scored = [r for r in rows if r["correct"] is not None]
    by_family: dict[str, dict] = {}
    for r in found:
        entry = by_family.setdefault(r["family"], {"found": 0, "correct": 0})
        entry["found"] += 1
        entry["correct"] += bool(r["correct"])
    seconds = sorted(r["seconds"] for r in rows)
    return {
        "tasks": len(rows), "found": len(found), "scored": len(scored),
        "correct": sum(bool(r["correct"]) for r in scored),
        "mean_seconds": round(sum(seconds) / len(seconds), 3) if seconds else None,
        "max_seconds": seconds[-1] if seconds else None,
        "by_family": dict(sorted(by_family.items())),
    }


def table(summary: dict) -> str:
    lines = ["| family | found | correct |", "|---|---:|---:|"]
    lines += [f"| {name} | {e['found']} | {e['correct']} |" for name, e in summary["by_family"].items()]
    lines.append(f"| **all** ({summary['tasks']} tasks) | {summary['found']} | {summary['correct']} of "
                 f"{summary['scored']} scored |")
    return "\n".join(lines)


def main(args: Args) -> dict:
    from arc25.tasks.tasksets import load_task_set

    tasks = load_task_set(args.task_set, n=None if args.task_ids else args.n, seed=args.random_seed)
    wanted = args.ids()
    if wanted:
        known = {t.task_id for t in tasks}
        missing = [t for t in wanted if t not in known]
        if missing:
            raise SystemExit(f"error: --task-ids: {len(missing)} ids are not in {args.task_set}, e.g. {missing[0]!r}")
        keep = set(wanted)
        tasks = [t for t in tasks if t.task_id in keep][: args.n]
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(task, args.budget_s, args.family_names(), args.attempts) for task in tasks]
    rows = []
    start = time.time()
    workers = min(args.workers, len(jobs))
    # fork: the workers inherit the loaded modules, so a task starts searching at once
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
    with context.Pool(workers) if workers > 1 else _Inline() as pool, open(out / "results.jsonl", "w") as sink:
        for i, row in enumerate(pool.imap(_search_one, jobs), 1):
            rows.append(row)
            sink.write(json.dumps(row) + "\n")
            sink.flush()
            verdict = {True: "correct", False: "wrong", None: "unscored"}[row["correct"]] if row["program"] else "none"
            print(f"[{i}/{len(jobs)}] {row['task_id']}: {row['family'] or '-'} {verdict} "
                  f"({row['seconds']:.1f} s, {row['candidates']} candidates)", flush=True)
    summary = summarize(rows)
    summary.update(task_set=args.task_set, n=args.n, budget_s=args.budget_s, workers=workers,
                   wall_seconds=round(time.time() - start, 1), machine=f"{platform.machine()}, {os.cpu_count()} cpus")
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    text = table(summary)
    (out / "summary.md").write_text(text + "\n")
    print(text)
    return summary


class _Inline:
    """A one-worker stand-in for a pool (no process to start)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def imap(self, function, jobs):
        return map(function, jobs)


def cli(argv: list[str] | None = None) -> None:
    """arc25-search: bad input exits 2 with one line."""
    main(parse(Args, argv, description=__doc__))


if __name__ == "__main__":
    cli()
