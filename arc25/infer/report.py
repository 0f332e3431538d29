"""How arc25 writes results down: aligned or Markdown tables, JSON lines, CSV files, file names from task ids.

One home for the formats every report shares: evaluation, test-time HER, the learning ladder, sweeps and the
GPU report all write through these helpers, so a table or a CSV looks the same whichever command made it.
"""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path
from typing import Iterable, Sequence

__all__ = ["append_jsonl", "percent", "read_json", "read_jsonl", "safe_name", "table", "write_csv"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_name(text: str) -> str:
    """``text`` as a file name: every run of characters other than letters, digits, ``_.-`` becomes one ``_``."""
    return _UNSAFE.sub("_", text)


def percent(value: float | None, digits: int = 1) -> str:
    """A fraction as a percentage; "-" for a figure that is missing (None or NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{100 * value:.{digits}f}%"


def table(header: Sequence[str], rows: Iterable[Sequence[str]], *, markdown: bool = False) -> str:
    """Rows of cells under a header: Markdown (for files meant to be pasted) or plain text aligned for a console,
    the first column to the left and the figures to the right."""
    rows = [[str(cell) for cell in row] for row in rows]
    header = [str(cell) for cell in header]
    if any(len(row) != len(header) for row in rows):
        raise ValueError(f"every row needs {len(header)} cells (the header's), got {sorted({len(r) for r in rows})}")
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])
    widths = [max(len(row[c]) for row in [header, *rows]) for c in range(len(header))]

    def line(row: Sequence[str]) -> str:
        return "  ".join([row[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(row[1:], widths[1:])])

    return "\n".join([line(header), "  ".join("-" * w for w in widths)] + [line(row) for row in rows])


def append_jsonl(path: Path, record: dict) -> None:
    """Append one JSON line and close the file: an interrupted run keeps every line written so far."""
    with Path(path).open("a") as f:
        f.write(json.dumps(record, default=str) + "\n")


def read_jsonl(path: Path) -> list[dict]:
    """Every JSON line of a file (blank lines skipped)."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def read_json(path: Path) -> dict:
    """A run's JSON file, or {} when the run did not get far enough to write it (or wrote it half)."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}


def write_csv(rows: list[dict], path: Path) -> None:
    """Rewrite ``path`` with every row so far: the columns are the union of the rows' keys in first-seen order,
    a missing or None value an empty cell. Lists and mappings stay out (a CSV cell holds one value); the file is
    replaced whole, so a reader never sees half of it."""
    columns: list[str] = []
    for row in rows:
        columns += [k for k, v in row.items() if k not in columns and not isinstance(v, (list, dict))]
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows({k: ("" if row.get(k) is None else row.get(k)) for k in columns} for row in rows)
    tmp.replace(path)
