"""Every GPU figure in one command: environment, training speed per option, a short learning run, sampling.

A GPU is lent now and then for half an hour, so this runs in parts that fit one 10-minute call each
(``--parts``, ``--budget-s``), turns each part's failure (out of memory, a missing package, a timeout) into a
row instead of a crash, and writes everything under ``--output-dir``:

    report.md      the tables (paste into README)
    results.csv    one row per measurement, every part
    results.json   the same rows plus the environment
    speed.png      real tokens/s per speed option;  learning.png  loss and solve rate over the learning run
    profile/       per profiled variant, torch.profiler's summary.json, ops.txt and trace.json

One H100, everything in one call (a 1-minute learning run and the main speed variants):
    python scripts/gpu_report.py --output-dir runs/gpu-report
Speed alone, every variant:            python scripts/gpu_report.py --parts env,speed --output-dir runs/gpu-speed
Where a step's time goes (profiler):   python scripts/gpu_report.py --parts env,profile --output-dir runs/gpu-profile
Learning alone (the ladder's GPU preset): python scripts/gpu_report.py --parts learn,sample --learn-minutes 9
CPU rehearsal of every part with the tiny model (CI runs it):
    python scripts/gpu_report.py --smoke --output-dir runs/gpu-report-smoke
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Optional

import tyro

from arc25.cli import DEFAULT_RANDOM_SEED, CliConfig, fail, parse
from arc25.launch import classify, run_logged

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("env", "profile", "speed", "learn", "sample")

# The journal's speed benchmark (1 input of 10x10, 5 draws) and the default mixture (4096 tokens fit 99.6%).
DATASETS = {
    "journal": ["--n-inputs", "1", "--min-side", "10", "--max-side", "10", "--min-draws", "5", "--max-draws", "5",
                "--max-seq-len", "512"],
    "mixture": ["--max-seq-len", "4096"],
}
# Per-device batch of the plain path: journal samples are ~430 tokens, mixture samples ~1,300 (up to 4,096).
PLAIN_BATCH = {"journal": 16, "mixture": 8}
COMPILE = ["--torch-compile", "--pad-to-multiple-of", "64"]
# Speed options, each alone and then together; "batch2x" doubles the plain per-device batch.
OPTIONS: dict[str, list[str]] = {
    "plain": [],
    "group": ["--group-by-length-window", "256"],
    "liger": ["--use-liger-kernel"],
    "compile": COMPILE,
    "packing": ["--packing", "--attn-implementation", "flex_attention"],
    "batch2x": [],
    # torch.compile is left out: on an H100 its first step alone took 145 s (peft + dynamic shapes), more than
    # a time-boxed variant can afford; it stays a variant of its own.
    "combined": ["--use-liger-kernel", "--group-by-length-window", "256"],
}
CUDA_ONLY = {"liger", "compile", "combined"}
# Run order matters: a budget that runs out cuts the tail. The short list is for a call that runs every part.
SHORT_VARIANTS = ["lora/mixture/plain", "lora/mixture/liger", "lora/mixture/group", "lora/mixture/combined",
                  "lora/journal/plain", "lora/journal/combined", "full/mixture/plain", "full/mixture/combined"]
# Every option on the headline case (LoRA, default mixture) first, then plain vs combined elsewhere, then the rest.
ALL_VARIANTS = list(dict.fromkeys(
    [f"lora/mixture/{option}" for option in OPTIONS]
    + ["full/mixture/plain", "full/mixture/combined", "lora/journal/plain", "lora/journal/combined",
       "full/journal/plain", "full/journal/combined"]
    + [f"{mode}/{data}/{option}" for mode in ("lora", "full") for data in ("mixture", "journal")
       for option in OPTIONS if not (data == "journal" and option == "group")]))
# Every code path once (batch2x is plain's path with other numbers): each run pays ~10 s of imports on a slow day.
SMOKE_VARIANTS = ["full/mixture/plain", "full/mixture/group", "full/mixture/packing", "full/mixture/liger"]


@dataclass
class ReportConfig(CliConfig):
    """Measure every GPU figure arc25 reports, in time-boxed parts, into one folder."""

    output_dir: Annotated[str, tyro.conf.arg(aliases=("--out",))] = "runs/gpu-report"
    """Folder for report.md, results.csv/json, the PNGs and every run's files."""
    parts: str = ",".join(PARTS)
    """Comma-separated parts to run, in this order: env, profile, speed, learn, sample."""
    budget_s: float = 540.0
    """Wall-clock budget for this invocation; parts are time-boxed inside it (540 s fits a 10-minute call)."""
    smoke: bool = False
    """Rehearse every part on CPU with the tiny model in about a minute (what CI runs)."""
    model_path: str = "qwen2.5-0.5b-shape"
    """Model for the speed and sampling parts (LoRA r=32 and full fine-tuning)."""
    learn_model_path: str = "small"
    """Model the learning part trains from scratch."""
    learn_minutes: Optional[float] = None
    """Training minutes of the learning part (the ladder's GPU preset, split over its rungs); default 2 when every
    part runs, else 9."""
    variants: Optional[str] = None
    """Comma-separated speed variants MODE/DATA/OPTION (e.g. lora/mixture/liger); default: all when speed runs
    alone, a short list when every part runs together."""
    profile_variants: Optional[str] = None
    """Comma-separated speed variants (MODE/DATA/OPTION) the profile part runs under torch.profiler; default:
    lora/mixture/combined (the headline case), full/mixture/plain with --smoke (tiny trains in full, on CPU)."""
    profile_steps: int = 3
    """Optimizer steps each profiled variant records (after start-up steps and one warm-up step)."""
    speed_steps: int = 60
    """Optimizer steps per speed variant (the first are left out of the figures, more with torch.compile)."""
    lora_r: int = 32
    """LoRA rank of the LoRA speed variants."""
    n_eval_tasks: int = 128
    """Held-out synthetic tasks per ladder rung the learnt model is evaluated on (greedy and 8 samples)."""
    dataloader_num_workers: int = 4
    """Data workers per training run (the GPU box has 16 cores)."""
    random_seed: int = DEFAULT_RANDOM_SEED
    """Seeds every run, the held-out tasks and the sampling."""

    def validate(self) -> None:
        parts = self.part_list()
        unknown = [p for p in parts if p not in PARTS]
        if unknown or not parts:
            raise ValueError(f"--parts {self.parts!r}: unknown part(s) {', '.join(unknown) or '(none given)'}; "
                             f"choose from {', '.join(PARTS)}")
        if not self.budget_s > 0:
            raise ValueError(f"--budget-s must be > 0, got {self.budget_s}")
        if self.learn_minutes is not None and not self.learn_minutes > 0:
            raise ValueError(f"--learn-minutes must be > 0, got {self.learn_minutes}")
        for name in ("speed_steps", "lora_r", "n_eval_tasks", "profile_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        for variant in self.variant_list() + self.profile_variant_list():
            mode, data, option = (variant.split("/") + ["", "", ""])[:3]
            if mode not in ("lora", "full") or data not in DATASETS or option not in OPTIONS:
                raise ValueError(f"--variants/--profile-variants: {variant!r} is not MODE/DATA/OPTION with MODE lora|full, DATA "
                                 f"{'|'.join(DATASETS)}, OPTION {'|'.join(OPTIONS)}")

    def part_list(self) -> list[str]:
        return [p.strip() for p in self.parts.split(",") if p.strip()]

    def profile_variant_list(self) -> list[str]:
        if self.profile_variants:
            return [v.strip() for v in self.profile_variants.split(",") if v.strip()]
        return ["full/mixture/plain"] if self.smoke else ["lora/mixture/combined"]

    def variant_list(self) -> list[str]:
        if self.variants:
            return [v.strip() for v in self.variants.split(",") if v.strip()]
        if self.smoke:
            return SMOKE_VARIANTS
        return ALL_VARIANTS if self.part_list() == ["speed"] or "learn" not in self.part_list() else SHORT_VARIANTS


@dataclass
class Clock:
    """The invocation's budget: how much is left, and how much one part may take of it."""

    budget_s: float
    started: float = field(default_factory=time.perf_counter)

    def left(self) -> float:
        return self.budget_s - (time.perf_counter() - self.started)


# --- running finetuning.py -------------------------------------------------------------------------


def run_training(flags: list[str], run_dir: Path, timeout_s: float) -> dict:
    """One finetuning.py run in its own process group; its status, seconds and figures as a row."""
    run_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(ROOT / "finetuning.py"), "--output-dir", str(run_dir), *flags]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    rc, timed_out, seconds = run_logged(command, run_dir / "run.log", timeout_s, cwd=ROOT, env=env)
    summary = _read_json(run_dir / "throughput.json")
    metrics = _read_json(run_dir / "train_metrics.json")
    status, error = classify(rc, timed_out, (run_dir / "run.log").read_text(errors="replace"), bool(summary))
    if status == "timeout":
        status = f"timeout after {timeout_s:.0f} s"
    elif status not in ("ok", "oom"):
        status = f"error: {error[:160] or 'no output'}"
    row = {"status": status, "seconds": round(seconds, 1), "run_dir": str(run_dir)}
    for key in ("real_tokens_per_s", "samples_per_s", "padding_fraction", "data_wait_fraction", "peak_memory_gib",
                "mfu", "tokens_per_sample", "steps_measured", "device"):
        row[key] = summary.get(key)
    row["train_loss"] = metrics.get("train_loss")
    row["global_step"] = metrics.get("global_step")
    return row


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _common_flags(cfg: ReportConfig) -> list[str]:
    from arc25.encoders import JOURNAL_ENCODER_SPEC

    # Speed runs keep the journal's grid encoding, so their tokens per sample match the earlier reports'.
    return ["--no-log-to-wandb", "--no-resume-from-checkpoint", "--eval-steps", "0", "--save-steps", "1000000000",
            "--random-seed", str(cfg.random_seed), "--dataloader-num-workers", str(cfg.dataloader_num_workers),
            "--grid-encoder", JOURNAL_ENCODER_SPEC]


def variant_flags(cfg: ReportConfig, variant: str) -> list[str]:
    mode, data, option = variant.split("/")
    # Every option off first (finetuning.py turns some on by default on CUDA); the variant's own flags come later
    # and win.
    plain = ["--group-by-length-window", "0", "--no-use-liger-kernel", "--no-torch-compile", "--no-packing"]
    batch = (2 if cfg.smoke else PLAIN_BATCH[data]) * (2 if option == "batch2x" else 1)
    compiled = option == "compile"
    steps = 8 if cfg.smoke else cfg.speed_steps
    skip = max(1, steps // (3 if compiled else 6))
    flags = [*_common_flags(cfg), "--model-path", cfg.model_path, "--max-steps", str(steps),
             "--logging-steps", str(max(1, steps // 6)), "--throughput-skip-steps", str(skip),
             "--per-device-train-batch-size", str(batch), "--batch-size", str(batch), *DATASETS[data],
             *plain, *OPTIONS[option]]
    if mode == "lora":
        flags += ["--use-lora", "--lora-r", str(cfg.lora_r)]
    else:
        flags += ["--no-use-lora"]
    if cfg.smoke:
        flags += ["--max-side", "6", "--max-seq-len", "1024"]
        if option == "packing":
            flags += ["--attn-implementation", "sdpa"]  # flex attention has no CPU backward; the later flag wins
    return flags


# --- parts -----------------------------------------------------------------------------------------


def part_env(cfg: ReportConfig, clock: Clock, out: Path) -> tuple[list[dict], dict]:
    """Versions, the device, and a measured bf16 matmul TFLOP/s (the realistic MFU denominator)."""
    import platform

    import torch

    env = {"python": platform.python_version(), "torch": torch.__version__}
    for name in ("transformers", "trl", "peft", "accelerate", "datasets", "liger_kernel", "triton"):
        try:
            module = __import__(name)
            env[name] = getattr(module, "__version__", "installed")
        except ImportError:
            env[name] = "missing"
    cuda = torch.cuda.is_available()
    env["device"] = torch.cuda.get_device_name(0) if cuda else f"cpu ({os.cpu_count()} cores)"
    if cuda:
        env["gpu_memory_gib"] = round(torch.cuda.get_device_properties(0).total_memory / 1024**3, 1)
        env["cuda"] = torch.version.cuda
    n, dtype, device = (8192, torch.bfloat16, "cuda") if cuda else (512, torch.float32, "cpu")
    generator = torch.Generator(device=device).manual_seed(cfg.random_seed)
    a = torch.randn(n, n, device=device, dtype=dtype, generator=generator)
    b = torch.randn(n, n, device=device, dtype=dtype, generator=generator)
    for _ in range(3):
        a @ b
    if cuda:
        torch.cuda.synchronize()
    repeats, started = 0, time.perf_counter()
    while time.perf_counter() - started < (2.0 if cuda else 0.5):
        a @ b
        repeats += 1
        if cuda and repeats % 10 == 0:
            torch.cuda.synchronize()
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    # Three significant figures: a busy CPU manages well under 0.1 TFLOP/s, which one decimal would call 0.
    env["matmul_tflops"] = float(f"{2 * n**3 * repeats / seconds / 1e12:.3g}")
    env["matmul"] = f"{n}^3 {str(dtype).removeprefix('torch.')}"
    del a, b
    if cuda:
        torch.cuda.empty_cache()
    rows = [{"part": "env", "name": key, "status": "ok", "value": value} for key, value in env.items()]
    return rows, env


def _run_variants(part: str, variants: list[str], clock: Clock, reserve_s: float, cuda: bool, measure) -> list[dict]:
    """A row per variant from ``measure(variant, timeout_s)``; one that needs CUDA or misses the budget is skipped."""
    rows = []
    for variant in variants:
        mode, data, option = variant.split("/")
        row = {"part": part, "name": variant, "mode": mode, "data": data, "option": option}
        left = clock.left() - reserve_s
        if option in CUDA_ONLY and not cuda:
            row["status"] = "skipped: needs CUDA"
        elif left < 30:
            row["status"] = "skipped: budget spent"
        else:
            row.update(measure(variant, min(240.0 if option == "compile" else 150.0, left)))
        rows.append(row)
        figure = row.get("real_tokens_per_s") or row.get("step_wall_ms") or ""
        print(f"{part} {variant}: {row['status']} {figure}", flush=True)
    return rows


def part_speed(cfg: ReportConfig, clock: Clock, out: Path, reserve_s: float, cuda: bool) -> list[dict]:
    """One short training run per variant; a variant that does not fit the budget becomes a skipped row."""
    rows = _run_variants("speed", cfg.variant_list(), clock, reserve_s, cuda, lambda variant, timeout_s: run_training(
        variant_flags(cfg, variant), out / "speed" / variant.replace("/", "-"), timeout_s))
    # Each option against the plain path of the same mode and data, measured in this same call.
    plain = {(r["mode"], r["data"]): r.get("real_tokens_per_s") for r in rows if r["option"] == "plain"}
    for r in rows:
        base = plain.get((r["mode"], r["data"]))
        if base and r.get("real_tokens_per_s"):
            r["vs_plain"] = round(r["real_tokens_per_s"] / base, 2)
    return rows


def part_profile(cfg: ReportConfig, clock: Clock, out: Path, reserve_s: float, cuda: bool) -> list[dict]:
    """A few steps of each --profile-variants run under torch.profiler: wall vs kernel time, syncs, heaviest ops."""

    def measure(variant: str, timeout_s: float) -> dict:
        skip = 1 if cfg.smoke else 5
        steps = skip + 1 + cfg.profile_steps + 1
        run_dir = out / "profile" / variant.replace("/", "-")
        # Later flags win: the variant's step count and throughput window give way to the profiler's.
        flags = [*variant_flags(cfg, variant), "--max-steps", str(steps), "--throughput-skip-steps", str(skip),
                 "--logging-steps", str(steps), "--profile-steps", str(cfg.profile_steps)]
        trained = run_training(flags, run_dir, timeout_s)
        summary = _read_json(run_dir / "profile" / "summary.json")
        status = trained["status"] if summary or trained["status"] != "ok" else "error: no profile written"
        return dict(status=status, seconds=trained["seconds"], run_dir=trained["run_dir"],
                    device=trained.get("device"), **summary)

    return _run_variants("profile", cfg.profile_variant_list(), clock, reserve_s, cuda, measure)


LADDER_GPU = ROOT / "configs" / "recipes" / "ladder_gpu.yaml"


def learn_command(cfg: ReportConfig, minutes_per_rung: float, out_dir: Path) -> list[str]:
    """The learning ladder's GPU preset (one warm-up and LR schedule, defined once there); the smoke: 1 tiny rung."""
    command = [sys.executable, str(ROOT / "scripts" / "learning_ladder.py"), "--config", str(LADDER_GPU),
               "--output-dir", str(out_dir), "--model-path", cfg.learn_model_path,
               "--random-seed", str(cfg.random_seed), "--max-minutes", f"{minutes_per_rung:.2f}"]
    if cfg.smoke:
        command += ["--rungs", "h-line", "--max-steps", "4", "--batch-size", "4", "--per-device-train-batch-size", "4",
                    "--max-seq-len", "1024", "--curve-steps", "2", "--n-curve-tasks", "2", "--n-eval-tasks", "4",
                    "--n-samples", "1"]
    else:
        command += ["--n-eval-tasks", str(cfg.n_eval_tasks)]
    return command


def _ladder_rungs(cfg: ReportConfig) -> list[str]:
    from arc25.cli import load_recipe
    from scripts.learning_ladder import Args

    return ["h-line"] if cfg.smoke else load_recipe(Args, LADDER_GPU)["rungs"]


def part_learn(cfg: ReportConfig, clock: Clock, out: Path, reserve_s: float) -> list[dict]:
    """The learning ladder's GPU preset within --learn-minutes of training (split over its rungs), scored on
    held-out tasks beside the guessing baseline."""
    from arc25.ladder import percent

    minutes = cfg.learn_minutes or (0.1 if cfg.smoke else 2.0 if len(cfg.part_list()) == len(PARTS) else 9.0)
    run_dir = out / "learn"
    run_dir.mkdir(parents=True, exist_ok=True)
    rungs = _ladder_rungs(cfg)
    # Each rung also pays start-up and its evaluation (about a minute on a GPU) beside its training minutes.
    minutes = min(minutes, max(0.1, (clock.left() - reserve_s - 120 - 90 * len(rungs)) / 60))
    per_rung = minutes / len(rungs)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    timeout_s = minutes * 60 + 240 * len(rungs)
    rc, timed_out, seconds = run_logged(learn_command(cfg, per_rung, run_dir), run_dir / "run.log", timeout_s,
                                        cwd=ROOT, env=env)
    report = _read_json(run_dir / "ladder.json")
    status, error = classify(rc, timed_out, (run_dir / "run.log").read_text(errors="replace"), bool(report))
    if status != "ok":
        return [{"part": "learn", "name": f"ladder {cfg.learn_model_path} {minutes:.1f} min",
                 "status": f"{status}: {error}" if error else status, "seconds": round(seconds, 1)}]
    rows = []
    for row in report["rows"]:
        model, guess = row["scores"]["model"]["all"], row["scores"]["guess"]["all"]
        pass_key = next((k for k in model if k.startswith("pass@")), None)
        rows.append({"part": "learn", "name": f"{row['rung']} ({cfg.learn_model_path}, {row['train_minutes']:.1f} min)",
                     "status": "ok", "seconds": round(seconds, 1), "run_dir": str(run_dir / row["rung"]),
                     "global_step": row["steps"], "samples": row["samples"], "train_loss": row["train_loss"],
                     "tasks": model["n"], "greedy_solve_rate": model.get("greedy"),
                     "guess_solve_rate": guess.get("greedy"), "pass_key": pass_key,
                     "pass_solve_rate": model.get(pass_key), "guess_pass_solve_rate": guess.get(pass_key),
                     "by_draws": " ".join(f"{k}:{percent(v.get('greedy'))}"
                                          for k, v in row["scores"]["model"]["by_draws"].items())})
    return rows


def part_sample(cfg: ReportConfig, clock: Clock, out: Path) -> list[dict]:
    """Programs/s generated by the speed model and the learnt one, and programs/s through execute_batch."""
    import itertools

    import torch

    from arc25 import loading
    from arc25.encoders import DEFAULT_ENCODER_SPEC
    from arc25.evaluation import encode_prompts
    from arc25.sandbox import execute_batch
    from arc25.generation import generate_completions
    from arc25.tasks import make_mixture, task_stream
    from arc25.tasksets import load_task_set

    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    rows = []
    tasks = load_task_set("synthetic", n=8 if cfg.smoke else 64, seed=cfg.random_seed, max_side=6 if cfg.smoke else 10)
    candidates = [("speed model", cfg.model_path, 16 if cfg.smoke else 128)]
    # The ladder's last rung trained the model that has seen the most.
    rungs = [r["rung"] for r in _read_json(out / "learn" / "ladder.json").get("rows", [])]
    learnt = out / "learn" / rungs[-1] / "final" if rungs else out / "learn" / "missing"
    if learnt.is_dir():
        candidates.append(("learnt model", str(learnt), 32 if cfg.smoke else 512))
    for label, path, new_tokens in candidates:
        row = {"part": "sample", "name": f"generate {label} ({Path(path).name if label == 'learnt model' else path})"}
        try:
            plan = loading.prepare(*loading.split_trained(path), bf16=cuda, default_seed=cfg.random_seed)
            tokenizer, model = plan.tokenizer, loading.load_model(plan).to(device)
            prompts = encode_prompts(tokenizer, tasks, DEFAULT_ENCODER_SPEC)
            generate_completions(model, tokenizer, prompts[:2], max_new_tokens=4, temperature=1.0)  # warm-up
            if cuda:
                torch.cuda.synchronize()
            started = time.perf_counter()
            done = generate_completions(model, tokenizer, prompts, max_new_tokens=new_tokens, temperature=1.0,
                                        seed=cfg.random_seed, batch_size=len(prompts))
            if cuda:
                torch.cuda.synchronize()
            seconds = time.perf_counter() - started
            row.update(status="ok", seconds=round(seconds, 2), programs=len(done),
                       programs_per_s=round(len(done) / seconds, 1),
                       tokens_per_s=round(sum(c.n_tokens for c in done) / seconds, 1),
                       batch=len(prompts), max_new_tokens=new_tokens)
            del model
            if cuda:
                torch.cuda.empty_cache()
        except Exception as err:  # a part's failure is a row
            row.update(status=f"error: {type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}")
        rows.append(row)
    stream = task_stream(cfg.random_seed, make_mixture("default", max_side=10))
    programs = list(itertools.islice(stream, 64 if cfg.smoke else 512))
    row = {"part": "sample", "name": f"execute_batch {len(programs)} programs (sandbox)"}
    try:
        execute_batch([t.code for t in programs[:8]], [t.inputs for t in programs[:8]])  # pool start-up
        started = time.perf_counter()
        execute_batch([t.code for t in programs], [t.inputs for t in programs])
        seconds = time.perf_counter() - started
        row.update(status="ok", seconds=round(seconds, 2), programs=len(programs),
                   programs_per_s=round(len(programs) / seconds, 1))
    except Exception as err:  # a part's failure is a row
        row.update(status=f"error: {type(err).__name__}: {err}"[:200])
    rows.append(row)
    return rows


# --- report ----------------------------------------------------------------------------------------


def _fmt(value, kind: str = "") -> str:
    if value is None or value == "":
        return "-"
    if kind == "pct":
        return f"{100 * value:.1f}%"
    if kind == "x":
        return f"{value:.2f}x"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return str(value)


def _table(header: list[str], lines: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(line) + " |" for line in lines]
    return "\n".join(out)


def write_report(out: Path, cfg: ReportConfig, env: dict, rows: list[dict], seconds: float) -> None:
    columns: list[str] = []
    for row in rows:
        # Lists (the profiler's heaviest ops) stay in results.json and report.md; a CSV cell holds one value.
        columns += [k for k, v in row.items() if k not in columns and not isinstance(v, list)]
    with open(out / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows({k: ("" if row.get(k) is None else row.get(k)) for k in columns} for row in rows)
    (out / "results.json").write_text(json.dumps({"env": env, "rows": rows, "seconds": seconds}, indent=2, default=str))

    command = "python scripts/gpu_report.py " + " ".join(sys.argv[1:])
    device = env.get("device") or next((r["device"] for r in rows if r.get("device")), None) or _device_name()
    lines = [f"# arc25 GPU report\n\n`{command}` — {device}, {time.strftime('%Y-%m-%d')}, "
             f"{seconds:.0f} s\n"]
    if env:
        lines += ["## Environment\n", _table(["what", "value"], [[k, str(v)] for k, v in env.items()]), ""]
    speed = [r for r in rows if r["part"] == "speed"]
    if speed:
        lines += [f"## Training speed (`{cfg.model_path}`, LoRA r={cfg.lora_r} or full fine-tuning)\n",
                  _table(["mode", "data", "option", "status", "real tok/s", "vs plain", "samples/s", "padding",
                          "data wait", "peak GiB", "MFU", "loss"],
                         [[r["mode"], r["data"], r["option"], r["status"], _fmt(r.get("real_tokens_per_s")),
                           _fmt(r.get("vs_plain"), "x"), _fmt(r.get("samples_per_s")),
                           _fmt(r.get("padding_fraction"), "pct"), _fmt(r.get("data_wait_fraction"), "pct"),
                           _fmt(r.get("peak_memory_gib")), _fmt(r.get("mfu"), "pct"), _fmt(r.get("train_loss"))]
                          for r in speed]), ""]
    profiled = [r for r in rows if r["part"] == "profile"]
    if profiled:
        lines += ["## Where a step's time goes (torch.profiler, per optimizer step)\n",
                  _table(["variant", "status", "wall ms", "kernel ms", "GPU busy", "kernels", "syncs", "scalar reads"],
                         [[r["name"], r["status"], _fmt(r.get("step_wall_ms")), _fmt(r.get("kernel_ms_per_step")),
                           _fmt(r.get("device_busy_fraction"), "pct"), _fmt(r.get("kernels_per_step")),
                           _fmt(r.get("syncs_per_step")), _fmt(r.get("scalar_reads_per_step"))] for r in profiled]), ""]
        for r in profiled:
            for key, label, unit in (("top_host_ops", "host self time", "self_cpu_ms_per_step"),
                                     ("top_device_ops", "device time", "device_ms_per_step")):
                if r.get(key):
                    lines.append(f"{r['name']}, heaviest by {label} (ms/step, calls/step): " + "; ".join(
                        f"`{op['name'][:60]}` {op[unit]:.2f} ({op['calls_per_step']:g})" for op in r[key][:6]))
            lines.append("")
    learn = [r for r in rows if r["part"] == "learn"]
    if learn:
        lines += [f"## Learning (the learning ladder's GPU preset, `{cfg.learn_model_path}` from scratch; held-out "
                  "tasks, guessing in brackets; see learn/ladder.md and learn/ladder.png)\n",
                  _table(["rung", "status", "steps", "samples", "loss", "tasks", "greedy (guess)", "pass@N (guess)",
                          "greedy by draws"],
                         [[r["name"], r["status"], _fmt(r.get("global_step")), _fmt(r.get("samples")),
                           _fmt(r.get("train_loss")), _fmt(r.get("tasks")),
                           f"{_fmt(r.get('greedy_solve_rate'), 'pct')} ({_fmt(r.get('guess_solve_rate'), 'pct')})",
                           f"{_fmt(r.get('pass_solve_rate'), 'pct')} ({_fmt(r.get('guess_pass_solve_rate'), 'pct')})",
                           r.get("by_draws") or "-"] for r in learn]), ""]
    sample = [r for r in rows if r["part"] == "sample"]
    if sample:
        lines += ["## Sampling and execution\n",
                  _table(["what", "status", "programs/s", "tokens/s", "batch", "new tokens"],
                         [[r["name"], r["status"], _fmt(r.get("programs_per_s")), _fmt(r.get("tokens_per_s")),
                           _fmt(r.get("batch")), _fmt(r.get("max_new_tokens"))] for r in sample]), ""]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    first_rung = next((Path(r["run_dir"]) for r in rows if r["part"] == "learn" and r.get("run_dir")), out / "learn")
    _plot(out, speed, first_rung / "log_history.jsonl")


def _device_name() -> str:
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"


def _plot(out: Path, speed: list[dict], history_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 0.35 * max(len(speed), 2) + 1.2))
    names = [r["name"] for r in speed]
    values = [r.get("real_tokens_per_s") or 0 for r in speed]
    ax.barh(range(len(names)), values, color=["tab:blue" if v else "lightgray" for v in values])
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("real (non-padding) tokens/s")
    ax.set_title("training speed per option" if speed else "training speed: not run")
    fig.tight_layout()
    fig.savefig(out / "speed.png", dpi=100)
    plt.close(fig)

    history = []
    if history_path.is_file():
        history = [json.loads(line) for line in history_path.read_text().splitlines() if line.strip()]
    fig, ax = plt.subplots(figsize=(7, 4))
    loss = [(h["step"], h["loss"]) for h in history if "loss" in h and "step" in h]
    if loss:
        ax.plot(*zip(*loss), label="train loss", color="tab:blue")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    solve = [(h["step"], h["eval_solve_rate"]) for h in history if "eval_solve_rate" in h]
    if solve:
        twin = ax.twinx()
        twin.plot(*zip(*solve), "o-", color="tab:green", label="solve rate")
        twin.set_ylabel("greedy solve rate")
        twin.set_ylim(0, 1)
    ax.set_title("learning run" if loss else "learning run: no history")
    fig.tight_layout()
    fig.savefig(out / "learning.png", dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    cfg = parse(ReportConfig, argv, description=__doc__)
    import torch

    cuda = torch.cuda.is_available()
    if not cuda and not cfg.smoke:
        fail("no CUDA GPU is visible: this report measures a GPU; add --smoke to rehearse it on CPU with tiny")
    if cfg.smoke:
        cfg.model_path = cfg.learn_model_path = "tiny"
    out = Path(cfg.output_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        fail(f"--output-dir {cfg.output_dir!r} cannot be created: {err.strerror or err}")
    clock = Clock(cfg.budget_s)
    parts = cfg.part_list()
    env, rows = {}, []
    # Time kept back for later parts while an earlier one runs.
    reserve = {"speed": (90 if "learn" in parts else 0) + (60 if "sample" in parts else 0), "learn": 60 if "sample" in parts else 0}
    reserve["profile"] = reserve["speed"] + (120 if "speed" in parts else 0)
    if cfg.smoke:
        reserve = {k: v / 6 for k, v in reserve.items()}
    try:
        for part in PARTS:
            if part not in parts:
                continue
            print(f"== {part} ({clock.left():.0f} s left)", flush=True)
            try:
                if part == "env":
                    new, env = part_env(cfg, clock, out)
                elif part == "profile":
                    new = part_profile(cfg, clock, out, reserve["profile"], cuda)
                elif part == "speed":
                    new = part_speed(cfg, clock, out, reserve["speed"], cuda)
                elif part == "learn":
                    new = part_learn(cfg, clock, out, reserve["learn"])
                else:
                    new = part_sample(cfg, clock, out)
            except Exception as err:  # a part's failure is a row, never the end of the report
                new = [{"part": part, "name": part, "status": f"error: {type(err).__name__}: {err}"[:300]}]
            rows += new
            write_report(out, cfg, env, rows, cfg.budget_s - clock.left())
    except KeyboardInterrupt:
        print("interrupted: writing what was measured", flush=True)
    write_report(out, cfg, env, rows, cfg.budget_s - clock.left())
    print((out / "report.md").read_text())
    print(f"wrote {out}/report.md, results.csv, results.json, speed.png, learning.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
