"""Audit the generator families: per family, how often the gate rejects, how ambiguous and how long tasks are.

    arc25-audit-families                                  # 1000 tasks per family, every family
    arc25-audit-families --n 200 --families gravity,upscale --json-out audit.json
    arc25-audit-families --n 10000 --ambiguity-n 1000     # ambiguity, the slow check, on the first 1000

Per family, over --n accepted tasks (3 inputs each unless --n-inputs):
- rejection: rejected samples / all samples, and the commonest reasons;
- reexec_failures: accepted tasks whose code, rerun through the trusted runner with the plain DSL, fails or gives
  other grids (goal 0);
- ambiguous_before: tasks whose sampled slots were not canonical (the gate moved a slot to its first working value);
- ambiguous_after: tasks where a program of the family one slot away from the canonical one also reproduces every
  output and does not canonicalise back to it (goal <= 5 %; over the first --ambiguity-n tasks when given);
- shortcut: tasks a simpler program reproduces (identity, whole-grid geometry, colour map, constant overlay;
  goal 0);
- tasks_per_s: accepted tasks per second of sampling on one core (gate included, audit checks excluded);
- p95_tokens: 95th percentile of a task's training conversation in the builtin tokenizer (--no-tokens: characters).

Prints a Markdown table and a JSON object.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from dataclasses import dataclass
from typing import Optional

import numpy as np

from arc25.cli import CliConfig, parse
from arc25.cli.args import SeedArgs


@dataclass(kw_only=True)
class Args(SeedArgs):
    n: int = 1000
    """Accepted tasks per family."""
    families: Optional[str] = None
    """Comma-separated families to audit (default: every family)."""
    n_inputs: int = 3
    """Input grids per task."""
    ambiguity_n: Optional[int] = None
    """Check ambiguity after canonicalisation on the first N of each family's accepted tasks (default: all --n): the
    check tries every neighbour of the canonical program, dozens of times a sample's cost."""
    tokens: bool = True
    """Count p95 length in builtin-tokenizer tokens (else in characters of the conversation)."""
    json_out: Optional[str] = None
    """Also write the JSON here."""

    def validate(self) -> None:
        from arc25.tasks.families import FAMILIES

        if self.n < 1:
            raise ValueError(f"--n must be >= 1, got {self.n}")
        if not 2 <= self.n_inputs <= 10:
            raise ValueError(f"--n-inputs must be 2-10, got {self.n_inputs}")
        if self.ambiguity_n is not None and not 1 <= self.ambiguity_n <= self.n:
            raise ValueError(f"--ambiguity-n must be 1 to --n ({self.n}), got {self.ambiguity_n}")
        for name in self.family_names():
            if name not in FAMILIES:
                raise ValueError(f"unknown family {name!r} in --families; valid: {', '.join(FAMILIES)}")

    def family_names(self) -> list[str]:
        from arc25.tasks.families import FAMILIES

        if not self.families:
            return list(FAMILIES)
        return [f.strip() for f in self.families.split(",") if f.strip()]


def ambiguous_after(family, task) -> bool:
    """Whether a neighbour of the task's canonical program reproduces it and canonicalises elsewhere."""
    from arc25.tasks.families import ambiguous

    return ambiguous(family, task.meta["slots"], task.inputs, task.outputs)


def _length(task, tokenizer) -> int:
    from arc25.prompts.encoders import DEFAULT_ENCODER_SPEC
    from arc25.prompts.prompting import task_to_messages

    messages = task_to_messages(task, DEFAULT_ENCODER_SPEC)
    if tokenizer is None:
        return sum(len(m["content"]) for m in messages)
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def audit_family(name: str, n: int, seed: int, n_inputs: int, tokenizer=None, ambiguity_n: int | None = None) -> dict:
    """The audit figures of one family over n accepted tasks (ambiguity after canonicalisation over the first
    ``ambiguity_n``)."""
    from arc25.programs.errors import ExecutionError
    from arc25.programs.trusted import execute_trusted
    from arc25.tasks.families import FAMILIES, sample_family_task, shortcut
    from arc25.tasks.generators import derive_seed

    family = FAMILIES[name]
    rng = random.Random(derive_seed(seed, sorted(FAMILIES).index(name)))
    rejections: Counter = Counter()
    tasks = []
    start = time.process_time()
    for _ in range(n):
        tasks.append(sample_family_task(rng, family, n_inputs, rejections))
    sampling_s = time.process_time() - start
    failures = 0
    for task in tasks:
        try:
            again = execute_trusted(task.code, task.inputs)
        except ExecutionError:
            failures += 1
            continue
        failures += not all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(again, task.outputs))
    accepted = rejections.pop(f"{name}/accepted", 0)
    redraws = rejections.pop(f"{name}/redraw", 0)
    rejected = sum(rejections.values())
    checked = tasks[:ambiguity_n]
    lengths = sorted(_length(task, tokenizer) for task in tasks)
    return {
        "family": name,
        "tasks": len(tasks),
        "rejection": round(rejected / (rejected + accepted), 3) if accepted + rejected else None,
        "top_rejections": {k.split("/", 1)[1]: v for k, v in rejections.most_common(3)},
        "redraws_per_task": round(redraws / len(tasks), 2),
        "reexec_failures": failures,
        "ambiguous_before": round(sum(t.meta["ambiguous"] > 0 for t in tasks) / len(tasks), 3),
        "ambiguous_after": round(sum(ambiguous_after(family, t) for t in checked) / len(checked), 3),
        "ambiguity_checked": len(checked),
        "shortcut": round(sum(shortcut(t.inputs, t.outputs) is not None for t in tasks) / len(tasks), 3),
        "tasks_per_s": round(len(tasks) / sampling_s, 1) if sampling_s > 0 else None,
        "p95_length": lengths[min(len(lengths) - 1, int(0.95 * len(lengths)))],
        "length_unit": "tokens" if tokenizer is not None else "characters",
        "chained": round(sum(t.n_draws > 1 for t in tasks) / len(tasks), 3),
        "worlds": dict(sorted(Counter(t.meta["world"] for t in tasks).items())),
    }


def table(rows: list[dict]) -> str:
    unit = rows[0]["length_unit"] if rows else "tokens"
    lines = [f"| family | rejection | re-exec failures | ambiguous before | ambiguous after | shortcut | tasks/s | "
             f"p95 {unit} | chained |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        of = "" if r["ambiguity_checked"] == r["tasks"] else f" (of {r['ambiguity_checked']})"
        lines.append(f"| {r['family']} | {100 * r['rejection']:.0f} % | {r['reexec_failures']} | "
                     f"{100 * r['ambiguous_before']:.1f} % | {100 * r['ambiguous_after']:.1f} %{of} | "
                     f"{100 * r['shortcut']:.1f} % | {r['tasks_per_s']} | {r['p95_length']} | "
                     f"{100 * r['chained']:.0f} % |")
    return "\n".join(lines)


def main(args: Args) -> list[dict]:
    tokenizer = None
    if args.tokens:
        from arc25.models.builtin import builtin_tokenizer

        tokenizer = builtin_tokenizer()
    rows = []
    for name in args.family_names():
        rows.append(audit_family(name, args.n, args.random_seed, args.n_inputs, tokenizer, args.ambiguity_n))
        print(json.dumps(rows[-1]), flush=True)
    print(table(rows))
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(rows, f, indent=2)
    return rows


def cli(argv: list[str] | None = None) -> None:
    """arc25-audit-families: bad input exits 2 with one line."""
    main(parse(Args, argv, description=__doc__))


if __name__ == "__main__":
    cli()
