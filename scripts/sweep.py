"""Training-speed sweeps: one short finetuning.py run per grid point, one CSV + JSONL row each, then PNG plots.

Grid axes are comma lists; every combination runs (or, with --zip, the i-th values of every axis together).
Arguments after ``--`` go to every finetuning.py run unchanged. Examples:

    # the smoke preset: two points on the builtin tiny model, CPU, a few steps each
    python scripts/sweep.py --smoke --out runs/sweeps/smoke

    # batch size x GPUs (the journal's first table)
    python scripts/sweep.py --out runs/sweeps/batch --per-device-train-batch-size 1,2,4,8 --n-processes 1,2 \\
        -- --model-path qwen2.5-0.5b-shape --batch-size 16 --max-seq-len 512 --max-steps 100

    # input size: n inputs x side, fixed sizes, 5 draws
    python scripts/sweep.py --out runs/sweeps/input --n-inputs 1,2,4 --max-side 10,20,30 --sizes fixed --draws 5 \\
        -- --model-path qwen2.5-0.5b-shape --per-device-train-batch-size 2 --batch-size 16 --max-seq-len 8192

Each point writes its run to ``<out>/runs/<id>`` (replaced if it exists) with its log in ``sweep.log``; a point
that crashes, runs out of memory or times out becomes a row with that status, never a crash of the sweep.
Rows carry the point's settings, the exit status and the figures of ``throughput.json`` (see arc25/metrics.py)
and ``train_metrics.json``. Plots: see scripts/plot_sweep.py (also runnable alone on a results.jsonl).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # plot_sweep, when imported rather than run

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
OOM_MARKERS = ("OutOfMemoryError", "CUDA out of memory", "out of memory", "CUBLAS_STATUS_ALLOC_FAILED")
TRUE, FALSE = {"1", "true", "on", "yes"}, {"0", "false", "off", "no"}


def bool_fields() -> set[str]:
    """Config fields that are tyro boolean flags."""
    import finetuning

    return {f.name for f in dataclasses.fields(finetuning.Config) if f.type in ("bool", bool)}


def config_fields() -> set[str]:
    import finetuning

    return {f.name for f in dataclasses.fields(finetuning.Config)}


def parse_grid(args) -> dict[str, list[str]]:
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
            raise SystemExit(f"error: --set {item!r} must be FIELD=v1,v2 with FIELD a finetuning.py flag")
        grid[key] = values(text)
    for name, values in grid.items():
        if not values:
            raise SystemExit(f"error: axis {name} has no values")
    if args.sizes is not None and set(grid["sizes"]) - {"fixed", "mixed"}:
        raise SystemExit("error: --sizes takes fixed and/or mixed")
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
        raise SystemExit(f"error: with --zip every axis needs 1 or {length} values: "
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
                raise SystemExit("error: --sizes fixed needs --max-side (or --set max_side=...)")
            fields["min_side"] = side
        else:
            fields["min_side"] = str(mixed_min_side)
    return fields, int(point.get("n_processes", 1))


def flags_for(fields: dict[str, str], booleans: set[str]) -> list[str]:
    """finetuning.py flags for a point's Config fields."""
    out = []
    for name, value in fields.items():
        flag = "--" + name.replace("_", "-")
        if name in booleans:
            if value.lower() not in TRUE | FALSE:
                raise SystemExit(f"error: {name} is on/off, got {value!r}")
            out.append(flag if value.lower() in TRUE else "--no-" + name.replace("_", "-"))
        else:
            out += [flag, value]
    return out


def launch_command(n_processes: int, launcher: str) -> list[str]:
    """How to start finetuning.py with n processes (plain python for one)."""
    if n_processes == 1:
        return [sys.executable, "finetuning.py"]
    if launcher == "accelerate":
        return [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(n_processes),
                "--num_machines", "1", "--multi_gpu", "finetuning.py"]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(n_processes),
            "finetuning.py"]


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


def classify(returncode: int | None, timed_out: bool, log_text: str, have_summary: bool) -> tuple[str, str]:
    """(status, error line) of a finished point."""
    if timed_out:
        return "timeout", ""
    if returncode == 0 and have_summary:
        return "ok", ""
    tail = log_text[-20000:]
    if any(marker in tail for marker in OOM_MARKERS):
        return "oom", next((l for l in reversed(tail.splitlines()) if any(m in l for m in OOM_MARKERS)), "")[:300]
    lines = [l.strip() for l in tail.splitlines() if l.strip()]
    error = next((l for l in reversed(lines) if "Error" in l or l.startswith("error:")), lines[-1] if lines else "")
    return ("error" if returncode != 0 else "no_summary"), error[:300]


def run_point(command: list[str], run_dir: Path, timeout: float) -> tuple[int | None, bool, float]:
    """Run one point in its own process group, logging to run_dir/sweep.log; (return code, timed out, seconds)."""
    env = dict(os.environ, TOKENIZERS_PARALLELISM="false", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{env.get('PYTHONPATH', '')}"
    started = time.perf_counter()
    with open(run_dir / "sweep.log", "w") as log:
        log.write(" ".join(command) + "\n")
        log.flush()
        # A new session, so a timeout can kill the launcher and every rank it started.
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            rc = proc.returncode
    return rc, timed_out, time.perf_counter() - started


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Arguments after -- are passed to every finetuning.py run.")
    parser.add_argument("--out", default=None, help="sweep folder (default runs/sweeps/<date-time>, or runs/sweeps/smoke)")
    parser.add_argument("--smoke", action="store_true", help="preset: two points on tiny, CPU-sized, 3 steps each")
    axes = parser.add_argument_group("grid axes (comma lists)")
    axes.add_argument("--per-device-train-batch-size", dest="per_device_train_batch_size")
    axes.add_argument("--max-seq-len", dest="max_seq_len")
    axes.add_argument("--n-inputs", dest="n_inputs", help="input grids per task")
    axes.add_argument("--max-side", dest="max_side")
    axes.add_argument("--min-side", dest="min_side")
    axes.add_argument("--sizes", help="fixed (min side = max side) and/or mixed (min side = --mixed-min-side)")
    axes.add_argument("--draws", help="exact DSL draws per program (min = max)")
    axes.add_argument("--min-draws", dest="min_draws")
    axes.add_argument("--max-draws", dest="max_draws")
    axes.add_argument("--packing", help="on/off: padding-free batches")
    axes.add_argument("--liger", help="on/off: liger kernels (CUDA only)")
    axes.add_argument("--lora", help="on/off: LoRA (off = full fine-tuning)")
    axes.add_argument("--group-by-length-window", dest="group_by_length_window")
    axes.add_argument("--model-path", dest="model_path")
    axes.add_argument("--n-processes", dest="n_processes", help="processes (GPUs) per run")
    axes.add_argument("--set", action="append", metavar="FIELD=v1,v2", help="any other finetuning.py flag as an axis")
    parser.add_argument("--zip", action="store_true", help="pair the axes' i-th values instead of every combination")
    parser.add_argument("--mixed-min-side", type=int, default=3, help="smallest side for --sizes mixed")
    parser.add_argument("--launcher", choices=("torchrun", "accelerate"), default="torchrun",
                        help="how runs with several processes start")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds before a point is killed")
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough = []
    if "--" in argv:
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1 :]
    args = build_parser().parse_args(argv)
    if args.smoke:
        for name, values in SMOKE_GRID.items():
            if getattr(args, name) is None:
                setattr(args, name, values)
        passthrough = SMOKE_ARGS + passthrough
    grid = parse_grid(args)
    points = expand(grid, args.zip)
    booleans = bool_fields()
    out = Path(args.out or ("runs/sweeps/smoke" if args.smoke else time.strftime("runs/sweeps/%Y%m%d-%H%M%S")))
    if not out.is_absolute():
        out = ROOT / out

    plans = []
    for index, point in enumerate(points):
        fields, n_proc = point_settings(point, args.mixed_min_side)
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
    (out / "sweep.json").write_text(json.dumps({"argv": argv, "passthrough": passthrough, "grid": grid}, indent=2))
    rows = []
    jsonl = out / "results.jsonl"
    jsonl.write_text("")
    for index, point, fields, n_proc, run_dir, command in plans:
        if run_dir.exists():
            shutil.rmtree(run_dir)
        run_dir.mkdir(parents=True)
        print(f"[{index + 1}/{len(plans)}] {json.dumps(point)}", flush=True)
        rc, timed_out, wall = run_point(command, run_dir, args.timeout)
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

    from plot_sweep import plot_all

    for path in plot_all(rows, out, varying=list(grid)):
        print(f"plot: {path}")
    counts = {status: sum(r["status"] == status for r in rows) for status in sorted({r["status"] for r in rows})}
    print(f"results: {out / 'results.csv'} {json.dumps(counts)}")
    # OOM and timeout rows are results (where the limits are), so only a sweep with nothing ok fails.
    return 0 if counts.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
