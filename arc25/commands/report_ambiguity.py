"""How many tasks have more than one program, before and after canonical targets (arc25.tasks.canonical).

    arc25-report-ambiguity                       # 400 tasks per generator and for the default mixture
    arc25-report-ambiguity --n 100 --max-side 10 --json-out ambiguity.json

A task is ambiguous when more than one distinct program of the same length reproduces its outputs.

- 1-draw tasks: every single draw (each function, arguments on the smallest grid, the colour it must have) that
  turns each input into its output is enumerated. *Before* = more than one; *before, up to argument order* =
  more than one once line ends and rectangle corners are put in order. *After* = some equivalent single draw
  does not canonicalise to the task's canonical program (checked for all of them).
- Multi-draw tasks: *orders* = permutations of the sampled draws with the same outputs (capped); *alt draws* =
  some draw has another draw with the same effect at its step (the table counts them up to argument order, the
  JSON both ways). *Before* = either. *After* = among ``--variants``
  random equivalent programs (a valid order, then each draw swapped with probability 1/2 for a random draw of the
  same effect: endpoint order, corners, fill seed and connectivity, equivalent functions), one canonicalises to a
  different program than the task's.

Prints a JSON object and a Markdown table.
"""

from __future__ import annotations

import itertools
import json
import platform
import random
import time
from dataclasses import dataclass
from typing import Optional

from arc25.cli import DEFAULT_RANDOM_SEED, CliConfig, parse


@dataclass
class Args(CliConfig):
    n: int = 400
    """Tasks per generator and per mixture."""
    random_seed: int = DEFAULT_RANDOM_SEED
    """Task stream seed."""
    mixtures: str = "default"
    """Comma-separated mixtures to report besides each generator."""
    variants: int = 4
    """Random equivalent programs per multi-draw task for the 'after' check."""
    max_orders: int = 120
    """Most valid draw orders counted per task (5 draws have 120)."""
    n_inputs: Optional[int] = None
    """Override: input grids per task, for every generator."""
    min_side: Optional[int] = None
    """Override: smallest grid side (1-30)."""
    max_side: Optional[int] = None
    """Override: largest grid side (1-30)."""
    min_draws: Optional[int] = None
    """Override: fewest DSL draws per program."""
    max_draws: Optional[int] = None
    """Override: most DSL draws per program."""
    json_out: Optional[str] = None
    """Also write the JSON here."""

    def overrides(self) -> dict:
        return dict(n_inputs=self.n_inputs, min_side=self.min_side, max_side=self.max_side,
                    min_draws=self.min_draws, max_draws=self.max_draws)

    def validate(self) -> None:
        from arc25.tasks import make_mixture

        for name in ("n", "variants", "max_orders"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        for mixture in self.mixtures.split(","):
            make_mixture(mixture, **self.overrides())


def _share(flags: list[bool]) -> float | None:
    return round(100 * sum(flags) / len(flags), 1) if flags else None


def measure(mixture, n: int, seed: int, variants: int, max_orders: int) -> dict:
    """Ambiguity before and after canonicalisation on ``n`` tasks of ``mixture``."""
    from arc25.tasks import canonical as C
    from arc25.tasks import task_stream

    rng = random.Random(seed)
    raw_stream = task_stream(seed, mixture, canonical=False)
    canon_stream = task_stream(seed, mixture)
    one = {"before": [], "before_up_to_arg_order": [], "after": [], "alternatives": [], "fill": [],
           "sampled_not_canonical": []}
    multi = {"before": [], "orders": [], "n_orders": [], "alt_draws": [], "alt_draws_up_to_arg_order": [],
             "after": [], "variant_dead": 0,
             "sampled_not_canonical": []}
    for raw, task in itertools.islice(zip(raw_stream, canon_stream), n):
        ops, canonical = raw.meta["ops"], task.meta["ops"]
        if task.n_draws == 1:
            alternatives = C.equivalent_draws(task.inputs, task.outputs, C.draw_color(ops[0]))
            one["alternatives"].append(len(alternatives))
            one["before"].append(len(alternatives) > 1)
            one["before_up_to_arg_order"].append(len({C.normalize_args(a) for a in alternatives}) > 1)
            one["fill"].append(ops[0][0] == "flood_fill")
            one["after"].append(any(C.canonicalize([a], task.inputs) != canonical for a in alternatives))
            one["sampled_not_canonical"].append(ops != canonical)
            continue
        orders = C.valid_orders(ops, task.inputs, cap=max_orders)
        states = C._states(ops, task.inputs)
        options = [C.equivalent_draws(states[i], states[i + 1], C.draw_color(op)) for i, op in enumerate(ops)]
        alt = any(len(o) > 1 for o in options)
        multi["alt_draws_up_to_arg_order"].append(any(len({C.normalize_args(a) for a in o}) > 1 for o in options))
        multi["n_orders"].append(len(orders))
        multi["orders"].append(len(orders) > 1)
        multi["alt_draws"].append(alt)
        multi["before"].append(len(orders) > 1 or alt)
        multi["sampled_not_canonical"].append(ops != canonical)
        differs = False
        for _ in range(variants):
            variant = C.random_equivalent(canonical, task.inputs, rng)
            if C.has_dead_draw(variant, task.inputs):
                multi["variant_dead"] += 1  # not a same-length program of live draws: outside the definition
                continue
            if C.canonicalize(variant, task.inputs) != canonical:
                differs = True
                break
        multi["after"].append(differs)
    by_fill = [a for a, f in zip(one["before"], one["fill"]) if f]
    return {
        "tasks": n,
        "one_draw": {
            "n": len(one["before"]),
            "ambiguous_before_pct": _share(one["before"]),
            "ambiguous_before_up_to_arg_order_pct": _share(one["before_up_to_arg_order"]),
            "flood_fill_ambiguous_before_pct": _share(by_fill),
            "mean_programs": round(sum(one["alternatives"]) / max(len(one["alternatives"]), 1), 1),
            "sampled_not_canonical_pct": _share(one["sampled_not_canonical"]),
            "ambiguous_after_pct": _share(one["after"]),
        },
        "multi_draw": {
            "n": len(multi["before"]),
            "ambiguous_before_pct": _share(multi["before"]),
            "several_orders_pct": _share(multi["orders"]),
            "mean_orders": round(sum(multi["n_orders"]) / max(len(multi["n_orders"]), 1), 1),
            "alternative_draws_pct": _share(multi["alt_draws"]),
            "alternative_draws_up_to_arg_order_pct": _share(multi["alt_draws_up_to_arg_order"]),
            "sampled_not_canonical_pct": _share(multi["sampled_not_canonical"]),
            "ambiguous_after_pct": _share(multi["after"]),
            "variants_per_task": variants,
            "variants_skipped_dead": multi["variant_dead"],
        },
    }


def table(results: dict, sources: list[str]) -> str:
    head = ("| source | 1-draw n | 1-draw ambiguous before | before, up to arg order | fills ambiguous | "
            "1-draw after | multi n | multi ambiguous before | several orders | mean orders | alt draws, up to arg order | "
            "multi after |")
    rows = [head, "|" + "|".join(["---"] * 12) + "|"]

    def pct(value):
        return "–" if value is None else f"{value:.1f} %"

    for source in sources:
        one, multi = results[source]["one_draw"], results[source]["multi_draw"]
        rows.append(
            f"| {source} | {one['n']} | {pct(one['ambiguous_before_pct'])} | "
            f"{pct(one['ambiguous_before_up_to_arg_order_pct'])} | {pct(one['flood_fill_ambiguous_before_pct'])} | "
            f"{pct(one['ambiguous_after_pct'])} | {multi['n']} | {pct(multi['ambiguous_before_pct'])} | "
            f"{pct(multi['several_orders_pct'])} | {multi['mean_orders']} | "
            f"{pct(multi['alternative_draws_up_to_arg_order_pct'])} | "
            f"{pct(multi['ambiguous_after_pct'])} |")
    return "\n".join(rows)


def main(args: Args) -> dict:
    from arc25.tasks import GENERATORS, make_mixture

    start = time.perf_counter()
    results = {"machine": platform.processor() or platform.machine(), "python": platform.python_version(),
               "n": args.n, "seed": args.random_seed,
               "overrides": {k: v for k, v in args.overrides().items() if v is not None}}
    sources = [*args.mixtures.split(","), *GENERATORS]
    for name in sources:
        results[name] = measure(make_mixture(name, **args.overrides()), args.n, args.random_seed, args.variants,
                                args.max_orders)
    results["seconds"] = round(time.perf_counter() - start, 1)
    text = json.dumps(results, indent=2)
    print(text)
    print()
    print(table(results, sources))
    if args.json_out:
        with open(args.json_out, "w") as f:
            f.write(text + "\n")
    return results


def cli(argv: list[str] | None = None) -> None:
    """arc25-report-ambiguity: bad input exits 2 with one line."""
    main(parse(Args, argv, description=__doc__))


if __name__ == "__main__":
    cli()
