"""Print the reference solutions of real ARC tasks, or verify them (lint, then every train and test pair in the sandbox).

    arc25-references                 # each reference: task id, concept, code
    arc25-references --jsonl         # one JSON object per line: task_id, family, code
    arc25-references --verify        # per-concept table; exits 1 with one line per failure
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Optional

from arc25.arc.references import DEFAULT_TIMEOUT_S
from arc25.cli import CliConfig, parse


@dataclass
class Args(CliConfig):
    jsonl: bool = False
    """Print one JSON object per line (task_id, family, code) instead of the listing."""
    verify: bool = False
    """Lint every reference and run it on every train and test pair of its task; exit 1 if any fails."""
    references_dir: Optional[str] = None
    """Folder of <concept>/<task_id>.py references (default: the ones shipped with arc25)."""
    timeout_s: float = DEFAULT_TIMEOUT_S
    """Seconds one reference may take on all the pairs of its task together."""

    def validate(self) -> None:
        from pathlib import Path

        if self.jsonl and self.verify:
            raise ValueError("--jsonl and --verify do different jobs: give one of them")
        if self.timeout_s <= 0:
            raise ValueError(f"--timeout-s must be > 0, got {self.timeout_s}")
        if self.references_dir is not None and not Path(self.references_dir).is_dir():
            raise ValueError(f"--references-dir {self.references_dir!r} is not a folder")


def summary_table(refs, failures) -> str:
    """Per concept: references, how many pass every check, the quota; then the total."""
    from arc25.arc.references import CONCEPTS, QUOTAS

    failed = {f.task_id for f in failures}
    rows = [("concept", "count", "passed", "quota")]
    for concept in CONCEPTS:
        ids = [r.task_id for r in refs if r.family == concept]
        rows.append((concept, str(len(ids)), str(sum(i not in failed for i in ids)), str(QUOTAS[concept])))
    rows.append(("total", str(len(refs)), str(sum(r.task_id not in failed for r in refs)), str(sum(QUOTAS.values()))))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
                     for row in rows)


def main(args: Args) -> int:
    from arc25.arc.references import REFERENCES_DIR, load_references, verify

    try:
        refs = load_references(args.references_dir or REFERENCES_DIR)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.jsonl:
        for ref in refs:
            print(json.dumps({"task_id": ref.task_id, "family": ref.family, "code": ref.code}))
        return 0
    if not args.verify:
        for ref in refs:
            print(f"# {ref.task_id} ({ref.family})\n{ref.code.rstrip()}\n")
        print(f"{len(refs)} references")
        return 0
    failures = verify(refs, timeout_s=args.timeout_s)
    print(summary_table(refs, failures))
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


def cli(argv: list[str] | None = None) -> None:
    """arc25-references: bad input exits 2 with one line; a failed --verify exits 1."""
    sys.exit(main(parse(Args, argv, description=__doc__)))


if __name__ == "__main__":
    cli()
