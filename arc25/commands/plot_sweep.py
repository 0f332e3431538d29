"""Plots of a speed sweep (scripts/sweep.py): throughput vs tokens per sample and vs batch size, memory vs batch size.

    arc25-plot-sweep --output-dir runs/sweeps/input    # re-plot from <dir>/results.jsonl

Writes PNGs next to the results. One line per combination of the other axes that vary in the sweep; failed
points (OOM, timeout, crash) show as red crosses on the x axis, since where a sweep breaks is a result too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure

from arc25.cli import CliConfig, parse
from arc25.infer.report import read_jsonl

# Axes that set how many tokens a sample has: in a plot against tokens per sample they are the x axis,
# so they label points rather than split lines.
SIZE_AXES = ("n_inputs", "max_side", "min_side", "sizes", "draws", "min_draws", "max_draws", "max_seq_len",
             "per_device_train_batch_size")
BATCH = "per_device_train_batch_size"


def varying_axes(rows: list[dict], candidates: list[str]) -> list[str]:
    """The candidate axes that take more than one value across rows."""
    return [k for k in candidates if len({str(r.get(k)) for r in rows}) > 1]


def _groups(rows: list[dict], keys: list[str]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for row in rows:
        label = ", ".join(f"{k}={row.get(k)}" for k in keys) or "all"
        groups.setdefault(label, []).append(row)
    return groups


def _num(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _line(ax, rows: list[dict], x: str, y: str, label: str, annotate: list[str] | None = None) -> bool:
    points = sorted((_num(r.get(x)), _num(r.get(y)), r) for r in rows if _num(r.get(x)) is not None
                    and _num(r.get(y)) is not None and r.get("status") == "ok")
    if not points:
        return False
    ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
    for px, py, row in points if annotate else ():
        ax.annotate("x".join(str(row.get(k)) for k in annotate), (px, py), textcoords="offset points",
                    xytext=(3, 3), fontsize=7)
    return True


def _failures(ax, rows: list[dict], x: str) -> None:
    failed = [(_num(r.get(x)), r["status"]) for r in rows if r.get("status") != "ok" and _num(r.get(x)) is not None]
    if failed:
        ax.scatter([f[0] for f in failed], [0] * len(failed), marker="x", color="red", zorder=5,
                   label="failed: " + ", ".join(sorted({f[1] for f in failed})))


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def plot_vs_tokens(rows: list[dict], varying: list[str], path: Path) -> Path:
    """Samples/s and real tokens/s against mean tokens per sample (the journal's speed-vs-input-size figure)."""
    fig = Figure(figsize=(11, 4.5))
    left, right = fig.subplots(1, 2)
    series = [k for k in varying if k not in SIZE_AXES]
    label_by = [k for k in varying if k in SIZE_AXES and k != "max_seq_len"]
    for label, group in _groups(rows, series).items():
        _line(left, group, "tokens_per_sample", "samples_per_s", label, annotate=label_by)
        _line(right, group, "tokens_per_sample", "real_tokens_per_s", label)
    for ax, ylabel in ((left, "samples / s"), (right, "real (non-padding) tokens / s")):
        ax.set_xlabel("mean tokens per sample")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    if label_by:
        left.set_title("points: " + " x ".join(label_by), fontsize=9)
    return _save(fig, path)


def plot_vs_batch(rows: list[dict], varying: list[str], y: str, ylabel: str, path: Path) -> Path:
    """One metric against the per-device batch size, a line per combination of the other varying axes."""
    fig = Figure(figsize=(6.5, 4.5))
    ax = fig.subplots()
    drawn = False
    for label, group in _groups(rows, [k for k in varying if k != BATCH]).items():
        drawn |= _line(ax, group, BATCH, y, label)
    _failures(ax, rows, BATCH)
    if not drawn:
        ax.text(0.5, 0.5, f"no {ylabel} figures\n(e.g. peak memory is only measured on CUDA)", ha="center",
                va="center", transform=ax.transAxes, color="grey")
    sizes = sorted({x for x in (_num(r.get(BATCH)) for r in rows) if x is not None})
    if sizes:
        ax.set_xticks(sizes, [f"{x:g}" for x in sizes])
    ax.set_xlabel("per-device batch size")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    return _save(fig, path)


def plot_all(rows: list[dict], out_dir: Path, varying: list[str] | None = None) -> list[Path]:
    """Write the sweep's plots into out_dir; returns their paths."""
    out_dir = Path(out_dir)
    candidates = list(dict.fromkeys([*(varying or []), *SIZE_AXES, "n_processes", "packing", "liger", "lora",
                                     "use_liger_kernel", "use_lora", "model_path", "group_by_length_window"]))
    keys = varying_axes(rows, candidates)
    return [
        plot_vs_tokens(rows, keys, out_dir / "speed_vs_tokens_per_sample.png"),
        plot_vs_batch(rows, keys, "samples_per_s", "samples / s", out_dir / "speed_vs_batch_size.png"),
        plot_vs_batch(rows, keys, "peak_memory_gib", "peak GPU memory (GiB)", out_dir / "memory_vs_batch_size.png"),
    ]


@dataclass
class Args(CliConfig):
    output_dir: str
    """A sweep folder with results.jsonl (and sweep.json) from arc25-sweep; the plots are written there."""

    def validate(self) -> None:
        if not (Path(self.output_dir) / "results.jsonl").is_file():
            raise ValueError(f"--output-dir {self.output_dir!r} has no results.jsonl: not a sweep folder")


def main(args: Args) -> None:
    sweep_dir = Path(args.output_dir)
    rows = read_jsonl(sweep_dir / "results.jsonl")
    meta = sweep_dir / "sweep.json"
    varying = list(json.loads(meta.read_text()).get("grid", {})) if meta.is_file() else None
    for path in plot_all(rows, sweep_dir, varying):
        print(path)


def cli(argv: list[str] | None = None) -> None:
    """arc25-plot-sweep: bad input exits 2 with one line."""
    main(parse(Args, argv, description=__doc__))


if __name__ == "__main__":
    cli()
