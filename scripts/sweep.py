"""Training-speed sweeps: one short finetuning.py run per grid point, one CSV + JSONL row each, then PNG plots.

Grid axes are comma lists; every combination runs (or, with --zip, the i-th values of every axis together).
Arguments after ``--`` go to every finetuning.py run unchanged. Examples:

    # the smoke preset: two points on the builtin tiny model, CPU, a few steps each
    arc25-sweep --smoke --output-dir runs/sweeps/smoke

    # batch size x GPUs (the journal's first table)
    arc25-sweep --output-dir runs/sweeps/batch --per-device-train-batch-size 1,2,4,8 --n-processes 1,2 \\
        -- --model-path qwen2.5-0.5b-shape --batch-size 16 --max-seq-len 512 --max-steps 100

    # input size: n inputs x side, fixed sizes, 5 draws
    arc25-sweep --output-dir runs/sweeps/input --n-inputs 1,2,4 --max-side 10,20,30 --sizes fixed --draws 5 \\
        -- --model-path qwen2.5-0.5b-shape --per-device-train-batch-size 2 --batch-size 16 --max-seq-len 8192

Each point writes its run to ``<out>/runs/<id>`` (replaced if it exists) with its log in ``sweep.log``; a point
that crashes, runs out of memory or times out becomes a row with that status, never a crash of the sweep.
Rows carry the point's settings, the exit status and the figures of ``throughput.json`` (see arc25/metrics.py)
and ``train_metrics.json``. Plots: see scripts/plot_sweep.py (also runnable alone: arc25-plot-sweep).
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal, Optional

import tyro

import finetuning
from arc25.cli import CliConfig, parse
from arc25.launch import classify, run_logged

# Run by path, so each point starts as `python finetuning.py` does, whether arc25 is a checkout or installed.
FINETUNING = str(Path(finetuning.__file__).resolve())

# Named axes: sweep flag -> finetuning Config field (bool fields become --x / --no-x).
AXES = {
    "per_device_train_batch_size": "per_device_train_batch_size",
    "max_seq_len": "max_seq_len",
    "n_inputs": "n_inputs",
    "max_side": "max_side",
    "min_side": "min_side",
    "min_draws": "min_draws",
    "max_draws": "max_draws",
    "packing": "packing",
    "liger": "use_liger_kernel",
    "lora": "use_lora",
    "group_by_length_window": "group_by_length_window",
    "model_path": "model_path",
}
# Axes that are not Config fields: expanded into fields (or the launch) per point.
DERIVED = ("draws", "sizes", "n_processes")
# Settings every run gets unless the pass-through arguments say otherwise (the later flag wins).
RUN_DEFAULTS = ["--no-log-to-wandb", "--eval-steps", "0", "--save-steps", "1000000000", "--no-resume-from-checkpoint"]
SMOKE_GRID = {"per_device_train_batch_size": "1,2"}
SMOKE_ARGS = ["--model-path", "tiny", "--max-steps", "3", "--batch-size", "2", "--max-side", "5",
              "--max-seq-len", "1024", "--dataloader-num-workers", "0", "--logging-steps", "1"]
METRICS = ("samples_per_s", "real_tokens_per_s", "padding_fraction", "data_wait_fraction", "peak_memory_gib",
           "peak_memory_reserved_gib", "mfu", "tokens_per_sample", "label_tokens_per_sample", "step_time_mean_s",
           "steps_measured", "device", "peak_tflops", "flops_per_token")
RESOLVED = ("model_path", "per_device_train_batch_size", "batch_size", "gradient_accumulation_steps", "world_size",
            "max_seq_len", "n_inputs", "min_side", "max_side", "min_draws", "max_draws", "packing", "use_lora",
            "use_liger_kernel", "torch_dtype")
TRAINER_METRICS = ("train_samples_per_second", "train_runtime", "train_loss", "global_step", "skipped_too_long")
TRUE, FALSE = {"1", "true", "on", "yes"}, {"0", "false", "off", "no"}


def bool_fields() -> set[str]:
    """Config fields that are tyro boolean flags."""
    return {f.name for f in dataclasses.fields(finetuning.Config) if f.type in ("bool", bool)}


def config_fields() -> set[str]:
    return {f.name for f in dataclasses.fields(finetuning.Config)}


@dataclass
class Args(CliConfig):
    """Training-speed sweeps: one short finetuning run per grid point. Arguments after -- go to every run."""

    output_dir: Optional[str] = None
    """Sweep folder (default runs/sweeps/<date-time>, or runs/sweeps/smoke)."""
    smoke: bool = False
    """Preset: two points on tiny, CPU-sized, 3 steps each."""
    per_device_train_batch_size: Optional[str] = None
    """Axis (comma list): samples per forward pass."""
    max_seq_len: Optional[str] = None
    """Axis (comma list): longest sample in tokens."""
    n_inputs: Optional[str] = None
    """Axis (comma list): input grids per task."""
    max_side: Optional[str] = None
    """Axis (comma list): largest grid side."""
    min_side: Optional[str] = None
    """Axis (comma list): smallest grid side."""
    sizes: Optional[str] = None
    """Axis: fixed (min side = max side) and/or mixed (min side = --mixed-min-side)."""
    draws: Optional[str] = None
    """Axis (comma list): exact DSL draws per program (min = max)."""
    min_draws: Optional[str] = None
    """Axis (comma list): fewest DSL draws per program."""
    max_draws: Optional[str] = None
    """Axis (comma list): most DSL draws per program."""
    packing: Optional[str] = None
    """Axis: on/off, padding-free batches."""
    liger: Optional[str] = None
    """Axis: on/off, liger kernels (CUDA only)."""
    lora: Optional[str] = None
    """Axis: on/off, LoRA (off = full fine-tuning)."""
    group_by_length_window: Optional[str] = None
    """Axis (comma list): group-by-length windows."""
    model_path: Optional[str] = None
    """Axis (comma list): models."""
    n_processes: Optional[str] = None
    """Axis (comma list): processes (GPUs) per run."""
    set: Annotated[list[str], tyro.conf.UseAppendAction] = field(default_factory=list)
    """Any other finetuning flag as an axis: FIELD=v1,v2 (repeatable)."""
    zip: bool = False
    """Pair the axes' i-th values instead of every combination."""
    mixed_min_side: int = 3
    """Smallest side for --sizes mixed."""
    launcher: Literal["torchrun", "accelerate"] = "torchrun"
    """How runs with several processes start."""
    timeout_s: float = 1200
    """Seconds before a point is killed."""
    dry_run: bool = False
    """Print the commands, run nothing."""

    def validate(self) -> None:
        if not self.timeout_s > 0:
            raise ValueError(f"--timeout-s must be > 0, got {self.timeout_s}")
        if self.smoke:
            for name, values in SMOKE_GRID.items():
                if getattr(self, name) is None:
                    setattr(self, name, values)
        for point in expand(parse_grid(self), self.zip):
            fields, n_processes = point_settings(point, self.mixed_min_side)
            flags_for(fields, bool_fields())
            if n_processes < 1:
                raise ValueError(f"--n-processes values must be >= 1, got {n_processes}")


def parse_grid(args: Args) -> dict[str, list[str]]:
    """Axis name -> its values, for the axes given on the command line (in a stable order)."""
    def values(text: str) -> list[str]:
        found = [v.strip() for v in text.split(",") if v.strip()]
        # A product drops repeats ("1,$NPROC" with NPROC=1), keeping the order; zipped axes are positional.
        return found if args.zip else list(dict.fromkeys(found))

    grid = {}
    for name in (*AXES, *DERIVED):
        value = getattr(args, name)
        if value is not None:
            grid[name] = values(value)
    fields = config_fields()
    for item in args.set or []:
        key, sep, text = item.partition("=")
        key = key.strip().lstrip("-").replace("-", "_")
        if not sep or key not in fields:
            raise ValueError(f"--set {item!r} must be FIELD=v1,v2 with FIELD a finetuning.py flag")
        grid[key] = values(text)
    for name, found in grid.items():
        if not found:
            raise ValueError(f"axis {name} has no values")
    if args.sizes is not None and set(grid["sizes"]) - {"fixed", "mixed"}:
        raise ValueError(f"--sizes takes fixed and/or mixed, got {args.sizes!r}")
    return grid


def expand(grid: dict[str, list[str]], zipped: bool) -> list[dict[str, str]]:
    """Every point of the grid: the product of the axes, or their i-th values together with --zip."""
    if not grid:
        return [{}]
    names = list(grid)
    if not zipped:
        return [dict(zip(names, combo)) for combo in itertools.product(*(grid[n] for n in names))]
    length = max(len(v) for v in grid.values())
    if any(len(v) not in (1, length) for v in grid.values()):
        raise ValueError(f"with --zip every axis needs 1 or {length} values: "
                         + ", ".join(f"{n}={len(v)}" for n, v in grid.items()))
    return [{n: (v[i] if len(v) > 1 else v[0]) for n, v in grid.items()} for i in range(length)]


def point_settings(point: dict[str, str], mixed_min_side: int) -> tuple[dict[str, str], int]:
    """The Config fields a point sets (derived axes resolved) and its process count."""
    fields = {}
    for name, value in point.items():
        if name in DERIVED:
            continue
        fields[AXES.get(name, name)] = value
    if "draws" in point:
        fields["min_draws"] = fields["max_draws"] = point["draws"]
    if "sizes" in point:
        side = fields.get("max_side")
        if point["sizes"] == "fixed":
            if side is None:
                raise ValueError("--sizes fixed needs --max-side (or --set max_side=...)")
            fields["min_side"] = side
        else:
            fields["min_side"] = str(mixed_min_side)
    n_processes = point.get("n_processes", "1")
    if not n_processes.isdigit():
        raise ValueError(f"--n-processes takes whole numbers, got {n_processes!r}")
    return fields, int(n_processes)


def flags_for(fields: dict[str, str], booleans: set[str]) -> list[str]:
    """finetuning.py flags for a point's Config fields."""
    out = []
    for name, value in fields.items():
        flag = "--" + name.replace("_", "-")
        if name in booleans:
            if value.lower() not in TRUE | FALSE:
                raise ValueError(f"{name} is on/off, got {value!r}")
            out.append(flag if value.lower() in TRUE else "--no-" + name.replace("_", "-"))
        else:
            out += [flag, value]
    return out


def launch_command(n_processes: int, launcher: str) -> list[str]:
    """How to start finetuning.py with n processes (plain python for one)."""
    if n_processes == 1:
        return [sys.executable, FINETUNING]
    if launcher == "accelerate":
        return [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(n_processes),
                "--num_machines", "1", "--multi_gpu", FINETUNING]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(n_processes),
            FINETUNING]


SHORT = {"per_device_train_batch_size": "bs", "max_seq_len": "len", "n_inputs": "in", "max_side": "side",
         "min_side": "minside", "draws": "draws", "min_draws": "mindraws", "max_draws": "maxdraws", "sizes": "",
         "packing": "pack", "liger": "liger", "lora": "lora", "group_by_length_window": "group", "model_path": "",
         "n_processes": "np"}


def point_id(index: int, point: dict[str, str]) -> str:
    """A folder name for a point: its index and its axis values, short."""
    parts = [f"{SHORT.get(name, name.replace('_', ''))}{Path(value).name}" for name, value in point.items()]
    text = "-".join(parts)[:100] or "default"
    return f"{index:03d}-" + "".join(c if c.isalnum() or c in "-._" else "_" for c in text)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def write_csv(rows: list[dict], path: Path) -> None:
    """Rewrite the CSV with every row so far (columns: the union, in first-seen order)."""
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})
    tmp.replace(path)


def main(args: Args, passthrough: list[str]) -> int:
    """Run every point; the exit status is 1 when none ran ok."""
    if args.smoke:
        passthrough = SMOKE_ARGS + passthrough
    grid = parse_grid(args)
    points = expand(grid, args.zip)
    booleans = bool_fields()
    planned = [point_settings(point, args.mixed_min_side) for point in points]
    out = Path(args.output_dir or ("runs/sweeps/smoke" if args.smoke else time.strftime("runs/sweeps/%Y%m%d-%H%M%S")))
    out = out.resolve()

    plans = []
    for index, (point, (fields, n_proc)) in enumerate(zip(points, planned)):
        run_dir = out / "runs" / point_id(index, point)
        command = launch_command(n_proc, args.launcher) + [
            "--output-dir", str(run_dir), "--n-gpus", str(n_proc), *RUN_DEFAULTS, *passthrough,
            *flags_for(fields, booleans),
        ]
        plans.append((index, point, fields, n_proc, run_dir, command))
    if args.dry_run:
        for *_, command in plans:
            print(" ".join(command))
        return 0

    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.json").write_text(json.dumps({"args": dataclasses.asdict(args), "passthrough": passthrough,
                                                "grid": grid}, indent=2))
    rows = []
    jsonl = out / "results.jsonl"
    jsonl.write_text("")
    for index, point, fields, n_proc, run_dir, command in plans:
        if run_dir.exists():
            shutil.rmtree(run_dir)
        run_dir.mkdir(parents=True)
        print(f"[{index + 1}/{len(plans)}] {json.dumps(point)}", flush=True)
        rc, timed_out, wall = run_logged(command, run_dir / "sweep.log", args.timeout_s)
        summary = _read_json(run_dir / "throughput.json")
        trainer = _read_json(run_dir / "train_metrics.json")
        resolved = _read_json(run_dir / "cfg.json")
        probe = resolved.get("probe", {})
        status, error = classify(rc, timed_out, (run_dir / "sweep.log").read_text(errors="replace"), bool(summary))
        row = {"point": index, **point, "n_processes": n_proc, **{k: v for k, v in fields.items() if k not in point},
               "status": status, "returncode": rc, "wall_s": round(wall, 2)}
        # What the run actually used (pass-through flags and defaults included), for grouping and plotting.
        row.update({k: resolved.get(k, fields.get(k)) for k in RESOLVED if k not in row})
        row.update({k: summary.get(k) for k in METRICS})
        row.update({k: trainer.get(k) for k in TRAINER_METRICS})
        row.update(probe_tokens_mean=probe.get("tokens_mean"), error=error, run_dir=str(run_dir),
                   command=" ".join(command))
        rows.append(row)
        with open(jsonl, "a") as f:
            f.write(json.dumps(row) + "\n")
        write_csv(rows, out / "results.csv")
        shown = {k: row[k] for k in ("status", "samples_per_s", "real_tokens_per_s", "padding_fraction",
                                     "data_wait_fraction", "peak_memory_gib", "mfu")}
        print(f"    {json.dumps(shown)}{'  ' + error if error else ''}", flush=True)

    from scripts.plot_sweep import plot_all

    for path in plot_all(rows, out, varying=list(grid)):
        print(f"plot: {path}")
    counts = {status: sum(r["status"] == status for r in rows) for status in sorted({r["status"] for r in rows})}
    print(f"results: {out / 'results.csv'} {json.dumps(counts)}")
    # OOM and timeout rows are results (where the limits are), so only a sweep with nothing ok fails.
    return 0 if counts.get("ok") else 1


def cli(argv: list[str] | None = None) -> None:
    """arc25-sweep: bad input exits 2 with one line; a sweep with no ok point exits 1."""
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough = []
    if "--" in argv:
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1 :]
    sys.exit(main(parse(Args, argv, description=__doc__), passthrough))


if __name__ == "__main__":
    cli()
