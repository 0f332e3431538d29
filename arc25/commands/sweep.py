"""Training-speed sweeps: one short finetuning.py run per grid point, one CSV + JSONL row each, then PNG plots.

Grid axes are comma lists; every combination runs (or, with --zip, the i-th values of every axis together).
A preset (``--preset NAME``, configs/sweeps/NAME.yaml) is a named sweep: its axes, its finetuning settings
(a recipe and fields) and named axes whose values each stand for a group of settings (``mode: lora`` means
LoRA r=32). Flags given here override the preset's. Arguments after ``--`` go to every finetuning.py run
unchanged. Examples:

    # the smoke preset: two points on the builtin tiny model, CPU, a few steps each
    arc25-sweep --smoke --output-dir runs/sweeps/smoke

    # the journal's sweeps (scripts/speed_sweeps.sh runs them all): batch size x GPUs
    arc25-sweep --preset batch --n-processes 1,2 --output-dir runs/sweeps/batch -- --max-steps 30

    # every speed option, LoRA and full (scripts/gpu_report.py runs these points by name)
    arc25-sweep --preset speed_options --output-dir runs/sweeps/options -- --max-steps 60

    # a grid of your own: input size, n inputs x side, fixed sizes, 5 draws
    arc25-sweep --output-dir runs/sweeps/input --n-inputs 1,2,4 --max-side 10,20,30 --sizes fixed --draws 5 \\
        -- --model-path qwen2.5-0.5b-shape --per-device-train-batch-size 2 --batch-size 16 --max-seq-len 8192

Each point writes its run to ``<out>/runs/<id>`` (replaced if it exists) with its log in ``sweep.log``; a point
that crashes, runs out of memory or times out becomes a row with that status, never a crash of the sweep.
Rows carry the point's settings, the exit status and the figures of ``throughput.json`` (see arc25/train/metrics.py)
and ``train_metrics.json``. Plots: see scripts/plot_sweep.py (also runnable alone: arc25-plot-sweep).
"""

from __future__ import annotations

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
from arc25.commands.launch import classify, finetuning_command, run_logged
from arc25.infer.report import append_jsonl, read_json, write_csv

# Run by path, so each point starts as `python finetuning.py` does, whether arc25 is a checkout or installed.
FINETUNING = str(Path(finetuning.__file__).resolve())
ROOT = Path(FINETUNING).parent
PRESETS = ROOT / "configs" / "sweeps"
RECIPES = ROOT / "configs" / "recipes"

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
# Keys a preset's group of settings may hold besides finetuning fields: a recipe the point starts from, and a
# factor on the batch its other groups set (gpu_report's "batch2x").
RECIPE, BATCH_SCALE = "recipe", "batch_scale"
# Settings every run gets unless the pass-through arguments say otherwise (the later flag wins).
RUN_DEFAULTS = ["--no-log-to-wandb", "--eval-steps", "0", "--save-steps", "1000000000", "--no-resume-from-checkpoint"]
METRICS = ("samples_per_s", "real_tokens_per_s", "padding_fraction", "data_wait_fraction", "peak_memory_gib",
           "peak_memory_reserved_gib", "mfu", "tokens_per_sample", "label_tokens_per_sample", "step_time_mean_s",
           "steps_measured", "device", "peak_tflops", "flops_per_token")
RESOLVED = ("model_path", "per_device_train_batch_size", "batch_size", "gradient_accumulation_steps", "world_size",
            "max_seq_len", "n_inputs", "min_side", "max_side", "min_draws", "max_draws", "packing", "use_lora",
            "use_liger_kernel", "torch_dtype")
TRAINER_METRICS = ("train_samples_per_second", "train_runtime", "train_loss", "global_step", "skipped_too_long")
TRUE, FALSE = {"1", "true", "on", "yes"}, {"0", "false", "off", "no"}


def bool_fields() -> set[str]:
    """Config fields that are on/off flags (--x / --no-x)."""
    from arc25.cli.args import on_off_fields

    return on_off_fields(finetuning.Config)


def config_fields() -> set[str]:
    return {f.name for f in dataclasses.fields(finetuning.Config)}


# --- presets ---------------------------------------------------------------------------------------


def _text(value) -> str:
    """A YAML scalar as the text a flag takes (YAML reads on/off and 8 as bool and int)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _values(value) -> list[str]:
    items = value if isinstance(value, list) else str(value).split(",")
    return [_text(v).strip() for v in items if _text(v).strip()]


@dataclass
class Preset:
    """A named sweep from configs/sweeps/NAME.yaml (see the files there)."""

    name: str
    recipe: Optional[str] = None
    run: dict[str, str] = field(default_factory=dict)
    axes: dict[str, list[str]] = field(default_factory=dict)
    groups: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    zip: bool = False
    mixed_min_side: Optional[int] = None
    exclude: list[dict[str, str]] = field(default_factory=list)

    def settings(self, point: dict[str, str]) -> dict[str, str]:
        """The finetuning fields a point's named-axis values stand for, in axis order."""
        fields: dict[str, str] = {}
        for axis, groups in self.groups.items():
            if axis in point:
                fields.update(groups[point[axis]])
        return fields

    def excluded(self, point: dict[str, str]) -> bool:
        return any(all(point.get(k) == v for k, v in rule.items()) for rule in self.exclude)


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS.glob("*.yaml"))


def load_preset(name: str) -> Preset:
    """configs/sweeps/NAME.yaml (or a YAML path), checked: every key known, every setting a finetuning field."""
    import yaml

    path = Path(name) if name.endswith((".yaml", ".yml")) else PRESETS / f"{name}.yaml"
    if not path.is_file():
        raise ValueError(f"--preset {name!r}: no such preset; choose one of {', '.join(preset_names())} "
                         "(configs/sweeps/) or give a YAML path")
    data = yaml.safe_load(path.read_text()) or {}
    known = {f.name for f in dataclasses.fields(Preset)} - {"name", "groups"}
    unknown = sorted(set(data) - known) if isinstance(data, dict) else ["(not a mapping)"]
    if unknown:
        raise ValueError(f"preset {str(path)!r}: unknown key(s) {', '.join(unknown)}; keys: {', '.join(sorted(known))}")
    fields = config_fields()

    def settings(where: str, mapping) -> dict[str, str]:
        if not isinstance(mapping, dict):
            raise ValueError(f"preset {str(path)!r}: {where} must map finetuning fields to values")
        bad = sorted(k for k in mapping if k not in fields and k not in (RECIPE, BATCH_SCALE))
        if bad:
            raise ValueError(f"preset {str(path)!r}: {where}: {', '.join(bad)} is not a finetuning.py field")
        recipe = mapping.get(RECIPE)
        if recipe is not None and not (RECIPES / f"{recipe}.yaml").is_file():
            raise ValueError(f"preset {str(path)!r}: {where}: recipe {recipe!r} is not in configs/recipes/")
        return {k: _text(v) for k, v in mapping.items()}

    preset = Preset(name=path.stem, recipe=settings("the top level", {RECIPE: data["recipe"]})[RECIPE]
                    if data.get("recipe") else None, zip=bool(data.get("zip", False)),
                    mixed_min_side=data.get("mixed_min_side"), run=settings("run", data.get("run") or {}),
                    exclude=[{k: _text(v) for k, v in rule.items()} for rule in data.get("exclude") or []])
    if RECIPE in preset.run or BATCH_SCALE in preset.run:
        raise ValueError(f"preset {str(path)!r}: run holds finetuning fields only (a recipe goes at the top level)")
    for axis, value in (data.get("axes") or {}).items():
        if isinstance(value, dict):
            preset.groups[axis] = {_text(label): settings(f"axes.{axis}.{label}", group or {})
                                   for label, group in value.items()}
            preset.axes[axis] = list(preset.groups[axis])
        elif axis in AXES or axis in DERIVED or axis in fields:
            preset.axes[axis] = _values(value)
        else:
            raise ValueError(f"preset {str(path)!r}: axis {axis!r} is neither a sweep axis nor a finetuning.py field")
    return preset


@dataclass
class Args(CliConfig):
    """Training-speed sweeps: one short finetuning run per grid point. Arguments after -- go to every run."""

    output_dir: Optional[str] = None
    """Sweep folder (default runs/sweeps/<date-time>, or runs/sweeps/<preset>)."""
    preset: Optional[str] = None
    """A named sweep: configs/sweeps/NAME.yaml (batch, input, draws, mixed, packing, liger, speed_options, smoke)
    or a YAML path; the flags here override its axes and settings."""
    smoke: bool = False
    """The smoke preset (--preset smoke): two points on tiny, CPU-sized, 3 steps each."""
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
    """Any other finetuning flag as an axis, or a preset's named axis: FIELD=v1,v2 (repeatable)."""
    zip: bool = False
    """Pair the axes' i-th values instead of every combination (a preset may ask for it too)."""
    mixed_min_side: Optional[int] = None
    """Smallest side for --sizes mixed (default: the preset's, else 3)."""
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
            if self.preset not in (None, "smoke"):
                raise ValueError(f"--smoke is --preset smoke; it cannot go with --preset {self.preset}")
            self.preset = "smoke"
        for point in plan(self):
            if point.n_processes < 1:
                raise ValueError(f"--n-processes values must be >= 1, got {point.n_processes}")

    def load_preset(self) -> Preset:
        return load_preset(self.preset) if self.preset else Preset(name="")


def parse_grid(args: Args, preset: Preset | None = None) -> dict[str, list[str]]:
    """Axis name -> its values: the preset's axes, then those given on the command line (which replace them)."""
    preset = preset or args.load_preset()
    zipped = args.zip or preset.zip

    def values(found: list[str]) -> list[str]:
        # A product drops repeats ("1,$NPROC" with NPROC=1), keeping the order; zipped axes are positional.
        return found if zipped else list(dict.fromkeys(found))

    grid = {name: values(found) for name, found in preset.axes.items()}
    for name in (*AXES, *DERIVED):
        value = getattr(args, name)
        if value is not None:
            grid[name] = values(_values(value))
    fields = config_fields()
    for item in args.set or []:
        key, sep, text = item.partition("=")
        key = key.strip().lstrip("-").replace("-", "_")
        if not sep or (key not in fields and key not in preset.groups):
            named = f" or one of the preset's named axes ({', '.join(preset.groups)})" if preset.groups else ""
            raise ValueError(f"--set {item!r} must be FIELD=v1,v2 with FIELD a finetuning.py flag{named}")
        grid[key] = values(_values(text))
    for name, found in grid.items():
        if not found:
            raise ValueError(f"axis {name} has no values")
        if name in preset.groups and set(found) - set(preset.groups[name]):
            raise ValueError(f"axis {name} takes {', '.join(preset.groups[name])} (preset {preset.name}), "
                             f"got {', '.join(found)}")
    if "sizes" in grid and set(grid["sizes"]) - {"fixed", "mixed"}:
        raise ValueError(f"--sizes takes fixed and/or mixed, got {','.join(grid['sizes'])!r}")
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


def point_settings(point: dict[str, str], mixed_min_side: int, preset: Preset | None = None) -> tuple[dict[str, str], int]:
    """The Config fields a point sets (named and derived axes resolved) and its process count."""
    preset = preset or Preset(name="")
    fields = preset.settings(point)
    for name, value in point.items():
        if name in DERIVED or name in preset.groups:
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
    scale = fields.pop(BATCH_SCALE, None)
    if scale is not None:
        for name in ("per_device_train_batch_size", "batch_size"):
            if name not in fields:
                raise ValueError(f"{BATCH_SCALE} needs the point's other groups to set {name}")
            fields[name] = str(int(fields[name]) * int(scale))
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


SHORT = {"per_device_train_batch_size": "bs", "max_seq_len": "len", "n_inputs": "in", "max_side": "side",
         "min_side": "minside", "draws": "draws", "min_draws": "mindraws", "max_draws": "maxdraws", "sizes": "",
         "packing": "pack", "liger": "liger", "lora": "lora", "group_by_length_window": "group", "model_path": "",
         "n_processes": "np"}


def point_id(index: int, point: dict[str, str]) -> str:
    """A folder name for a point: its index and its axis values, short."""
    parts = [f"{SHORT.get(name, name.replace('_', ''))}{Path(value).name}" for name, value in point.items()]
    text = "-".join(parts)[:100] or "default"
    return f"{index:03d}-" + "".join(c if c.isalnum() or c in "-._" else "_" for c in text)


@dataclass
class Point:
    """One run of a sweep: its axis values, the finetuning fields they set, and how it starts."""

    index: int
    values: dict[str, str]
    fields: dict[str, str]
    n_processes: int
    preset: Preset
    recipe: Optional[str] = None

    @property
    def name(self) -> str:
        """The axis values joined by "/" (a preset's named points: lora/mixture/plain)."""
        return "/".join(self.values.values())

    def command(self, run_dir: Path, passthrough: list[str], launcher: str = "torchrun",
                overrides: list[str] = ()) -> list[str]:
        """finetuning.py's command line: defaults, the preset's recipe and settings, the pass-through flags,
        the point's own fields, then ``overrides`` (the later flag wins)."""
        booleans = bool_fields()
        recipe = ["--config", str(RECIPES / f"{self.recipe}.yaml")] if self.recipe else []
        return [*finetuning_command(self.n_processes, launcher), "--output-dir", str(run_dir),
                "--n-gpus", str(self.n_processes), *RUN_DEFAULTS, *recipe, *flags_for(self.preset.run, booleans),
                *passthrough, *flags_for(self.fields, booleans), *overrides]


def plan(args: Args) -> list[Point]:
    """The sweep's points in run order (a preset's excluded combinations left out)."""
    preset = args.load_preset()
    mixed = args.mixed_min_side or preset.mixed_min_side or 3
    points = [p for p in expand(parse_grid(args, preset), args.zip or preset.zip) if not preset.excluded(p)]
    planned = []
    for values in points:
        fields, n_processes = point_settings(values, mixed, preset)
        recipe = fields.pop(RECIPE, None)
        if recipe and preset.recipe:
            raise ValueError(f"preset {preset.name}: point {'/'.join(values.values())} has two recipes")
        flags_for(fields, bool_fields())  # an on/off field with another value fails here, before any run
        planned.append(Point(len(planned), values, fields, n_processes, preset, recipe or preset.recipe))
    return planned


def run_point(command: list[str], run_dir: Path, timeout_s: float, log_name: str = "sweep.log") -> dict:
    """Run one point in a fresh run_dir; its status (ok, oom, timeout, error) and figures as a row."""
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    rc, timed_out, wall = run_logged(command, run_dir / log_name, timeout_s)
    summary = read_json(run_dir / "throughput.json")
    trainer = read_json(run_dir / "train_metrics.json")
    resolved = read_json(run_dir / "cfg.json")
    status, error = classify(rc, timed_out, (run_dir / log_name).read_text(errors="replace"), bool(summary))
    row = {"status": status, "returncode": rc, "wall_s": round(wall, 2)}
    # What the run actually used (pass-through flags and defaults included), for grouping and plotting.
    row.update({k: resolved.get(k) for k in RESOLVED})
    row.update({k: summary.get(k) for k in METRICS})
    row.update({k: trainer.get(k) for k in TRAINER_METRICS})
    row.update(probe_tokens_mean=resolved.get("probe", {}).get("tokens_mean"), error=error, run_dir=str(run_dir),
               command=" ".join(command))
    return row


def main(args: Args, passthrough: list[str]) -> int:
    """Run every point; the exit status is 1 when none ran ok."""
    points = plan(args)
    default_dir = f"runs/sweeps/{args.preset}" if args.preset else time.strftime("runs/sweeps/%Y%m%d-%H%M%S")
    out = Path(args.output_dir or default_dir).resolve()
    commands = [p.command(out / "runs" / point_id(p.index, p.values), passthrough, args.launcher) for p in points]
    if args.dry_run:
        for command in commands:
            print(" ".join(command))
        return 0

    out.mkdir(parents=True, exist_ok=True)
    grid = parse_grid(args)
    (out / "sweep.json").write_text(json.dumps({"args": dataclasses.asdict(args), "passthrough": passthrough,
                                                "grid": grid}, indent=2))
    rows = []
    jsonl = out / "results.jsonl"
    jsonl.write_text("")
    for point, command in zip(points, commands):
        print(f"[{point.index + 1}/{len(points)}] {json.dumps(point.values)}", flush=True)
        figures = run_point(command, out / "runs" / point_id(point.index, point.values), args.timeout_s)
        row = {"point": point.index, **point.values, "n_processes": point.n_processes,
               **{k: v for k, v in point.fields.items() if k not in point.values}}
        row.update({k: v for k, v in figures.items() if k not in row})
        rows.append(row)
        append_jsonl(jsonl, row)
        write_csv(rows, out / "results.csv")
        shown = {k: row[k] for k in ("status", "samples_per_s", "real_tokens_per_s", "padding_fraction",
                                     "data_wait_fraction", "peak_memory_gib", "mfu")}
        print(f"    {json.dumps(shown)}{'  ' + row['error'] if row['error'] else ''}", flush=True)

    from arc25.commands.plot_sweep import plot_all

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
