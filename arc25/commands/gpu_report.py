"""Every GPU figure in one command: environment, training speed per option, a short learning run, sampling.

Runs in time-boxed parts (``--parts``, ``--budget-s``) so that one call fits a short lease on a lent GPU; each part's
failure (out of memory, a missing package, a timeout) is a row, not a crash. Everything goes under ``--output-dir``
and is rewritten after every row; stopped early (Ctrl-C, SIGTERM, ``timeout -s INT``), it stops the run in flight
and keeps what it measured:

    report.md      the tables (for a dated file in docs/results/)
    results.csv    one row per measurement, every part
    results.json   the same rows plus the environment
    speed.png      real tokens/s per speed option;  learning.png  loss and solve rate over the learning run
    profile/       per profiled variant, torch.profiler's summary.json, ops.txt and trace.json

The speed and profile parts run points of the ``speed_options`` sweep preset (configs/sweeps/speed_options.yaml,
MODE/DATA/OPTION, e.g. lora/mixture/liger) through arc25-sweep's runner, or named lists of them (``goals``,
``switches-lora``, ``switches-full``, ``short``); the learn part runs the learning ladder's GPU preset; the journal
part times the research journal's own script (arc25-journal-baseline); the scale part runs full fine-tuning plain,
under FSDP2 and under ZeRO-3. How to plan a session on a lent machine: docs/speed.md.

    python scripts/gpu_report.py --output-dir runs/gpu-report                 # every part, short lists
    python scripts/gpu_report.py --parts env,speed --variants goals --output-dir runs/gpu-speed
    python scripts/gpu_report.py --parts env,profile --output-dir runs/gpu-profile
    python scripts/gpu_report.py --parts learn,sample --learn-minutes 9
    python scripts/gpu_report.py --parts env,scale --output-dir runs/gpu-scale
    python scripts/gpu_report.py --smoke --output-dir runs/gpu-report-smoke   # every part on CPU with tiny (CI)
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Optional

import tyro

from arc25.cli import DEFAULT_RANDOM_SEED, CliConfig, fail, parse
from arc25.commands.launch import classify, run_logged
from arc25.infer.report import percent, read_json, read_jsonl, table, write_csv

ROOT = Path(__file__).resolve().parents[2]
PARTS = ("env", "profile", "journal", "speed", "learn", "sample", "scale")
SPEED_PRESET = "speed_options"
# Points that set one of these on need CUDA (liger's triton kernels; torch.compile's inductor is GPU-tuned here).
CUDA_FIELDS = ("use_liger_kernel", "torch_compile")
# Points that set one of these on pay a compile in their first steps: a longer time box, more steps left out.
COMPILE_FIELDS = ("torch_compile", "compile_layers")
# Run order matters: a budget that runs out cuts the tail. The short list is for a call that runs every part;
# every point of the preset runs these first.
SHORT_VARIANTS = ["lora/mixture/plain", "lora/mixture/liger", "lora/mixture/group", "lora/mixture/combined",
                  "lora/journal/plain", "lora/journal/combined", "full/mixture/plain", "full/mixture/combined"]
# Each speed switch beside plain (the "before" of a default, or the path a switch turns on), in the order a spent
# budget cuts them last: ours on the journal's benchmark first (the journal part's rows are measured against it),
# then each switch beside plain on the default mixture. A LoRA row takes ~60 s on a GPU (start-up included), so
# each list fits one 540 s call at --speed-steps 30.
SWITCHES_LORA = ["lora/journal/plain", "lora/mixture/plain", "lora/mixture/budget16k", "lora/mixture/foreach_adamw",
                 "lora/mixture/budget16k_liger", "lora/mixture/combined", "lora/journal/budget16k",
                 "lora/mixture/budget32k", "lora/journal/foreach_adamw", "lora/mixture/budget16k_layers"]
SWITCHES_FULL = ["full/journal/plain", "full/mixture/plain", "full/mixture/foreach_adamw", "full/mixture/budget16k",
                 "full/mixture/combined", "full/journal/foreach_adamw", "full/mixture/budget16k_liger"]
# Named lists --variants and --profile-variants take besides MODE/DATA/OPTION points.
# The training-speed goals' rows, for one ~8-minute call: ours on the journal's benchmark (x journal), then the
# likeliest fastest LoRA and full paths (a token budget with liger) and the plain rows they are measured against.
SPEED_GOALS = ["lora/journal/plain", "lora/mixture/budget16k_liger", "full/mixture/budget16k_liger",
               "lora/mixture/plain", "full/mixture/plain", "lora/journal/budget16k", "lora/mixture/budget16k",
               "full/mixture/budget16k"]
VARIANT_LISTS = {"short": SHORT_VARIANTS, "goals": SPEED_GOALS, "switches-lora": SWITCHES_LORA,
                 "switches-full": SWITCHES_FULL}
# Every code path once (batch2x is plain's path with other numbers): each run pays ~10 s of imports on a slow day.
SMOKE_VARIANTS = ["full/mixture/plain", "full/mixture/group", "full/mixture/packing", "full/mixture/liger",
                  "full/mixture/budget16k"]
# The CPU rehearsal shrinks every point (these flags come last and win): smaller grids except on the journal's
# benchmark (its grids are 10x10 by definition); a token-budget point keeps its one row.
SMOKE_FLAGS = ["--per-device-train-batch-size", "2", "--batch-size", "2", "--max-seq-len", "1024"]
SMOKE_SIDE_FLAGS = ["--max-side", "6"]
SMOKE_BUDGET_FLAGS = ["--per-device-train-batch-size", "1", "--token-budget", "2048"]
# What a speed row keeps of the run's figures (scripts/sweep.py's rows hold more).
SPEED_FIGURES = ("real_tokens_per_s", "samples_per_s", "padding_fraction", "data_wait_fraction", "peak_memory_gib",
                 "mfu", "tokens_per_sample", "steps_measured", "device", "train_loss", "global_step")


def speed_points() -> dict:
    """The preset's points by name (MODE/DATA/OPTION), in the preset's order."""
    from arc25.commands import sweep

    return {point.name: point for point in sweep.plan(sweep.Args(preset=SPEED_PRESET))}


@dataclass
class ReportConfig(CliConfig):
    """Measure every GPU figure arc25 reports, in time-boxed parts, into one folder."""

    output_dir: Annotated[str, tyro.conf.arg(aliases=("--out",))] = "runs/gpu-report"
    """Folder for report.md, results.csv/json, the PNGs and every run's files."""
    parts: str = ",".join(PARTS)
    """Comma-separated parts to run, in this order: env, profile, journal, speed, learn, sample, scale."""
    budget_s: float = 540.0
    """Wall-clock budget for this invocation; parts are time-boxed inside it (540 s fits a 10-minute call)."""
    smoke: bool = False
    """Rehearse every part on CPU with the tiny model in about a minute (what CI runs); replaces --model-path and
    --learn-model-path with tiny."""
    model_path: str = "qwen2.5-0.5b-shape"
    """Model for the speed and sampling parts (LoRA r=32 and full fine-tuning)."""
    learn_model_path: str = "small"
    """Model the learning part trains from scratch."""
    learn_minutes: Optional[float] = None
    """Training minutes of the learning part (the ladder's GPU preset, split over its rungs); default 2 when every
    part runs, else 9."""
    variants: Optional[str] = None
    """Comma-separated speed variants MODE/DATA/OPTION (points of configs/sweeps/speed_options.yaml, e.g.
    lora/mixture/liger) or named lists (short, goals, switches-lora, switches-full); default: all when speed
    runs alone, the short list when every part runs together."""
    profile_variants: Optional[str] = None
    """Comma-separated speed variants (MODE/DATA/OPTION) the profile part runs under torch.profiler; default:
    lora/mixture/combined (the headline case), full/mixture/plain with --smoke (tiny trains in full, on CPU)."""
    profile_steps: int = 3
    """Optimizer steps each profiled variant records (after start-up steps and one warm-up step)."""
    speed_steps: int = 60
    """Optimizer steps per speed variant (the first are left out of the figures, more with torch.compile)."""
    lora_r: int = 32
    """LoRA rank of the LoRA speed variants (and of the journal's script)."""
    journal_modes: str = "lora"
    """The journal part: comma-separated modes (lora, full) of the research journal's own finetuning script, timed
    on its benchmark at --speed-steps (scripts/journal_baseline.py; prepared files in --journal-dir)."""
    journal_dir: str = ".journal"
    """The journal's scripts/finetuning.py and arc25/ (git-ignored; scripts/journal_baseline.py --prepare)."""
    journal_wheel_dir: str = ".whl/journal"
    """Wheels of the journal's library versions for this machine's Python (scripts/journal_baseline.py PINS)."""
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
        from arc25.commands.journal_baseline import parse_modes

        parse_modes(self.journal_modes, "--journal-modes")
        for name in ("speed_steps", "lora_r", "n_eval_tasks", "profile_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        given = (self.variants or "") + (self.profile_variants or "")
        if given:
            from arc25.commands import sweep

            known = speed_points()
            for variant in self.variant_list() + self.profile_variant_list():
                if variant not in known:
                    groups = sweep.load_preset(SPEED_PRESET).groups
                    raise ValueError(f"--variants/--profile-variants: {variant!r} is not MODE/DATA/OPTION of "
                                     f"configs/sweeps/{SPEED_PRESET}.yaml ("
                                     + ", ".join(f"{axis.upper()} {'|'.join(g)}" for axis, g in groups.items())
                                     + f") nor a named list ({', '.join(VARIANT_LISTS)})")

    def part_list(self) -> list[str]:
        return [p.strip() for p in self.parts.split(",") if p.strip()]

    def profile_variant_list(self) -> list[str]:
        if self.profile_variants:
            return _expand(self.profile_variants)
        return ["full/mixture/plain"] if self.smoke else ["lora/mixture/combined"]

    def variant_list(self) -> list[str]:
        if self.variants:
            return _expand(self.variants)
        if self.smoke:
            return SMOKE_VARIANTS
        if self.part_list() == ["speed"] or "learn" not in self.part_list():
            return list(dict.fromkeys(SHORT_VARIANTS + list(speed_points())))
        return SHORT_VARIANTS


def _expand(text: str) -> list[str]:
    """A comma list of variants and named lists (VARIANT_LISTS), each variant once, in order."""
    names = [v.strip() for v in text.split(",") if v.strip()]
    return list(dict.fromkeys(v for name in names for v in VARIANT_LISTS.get(name, [name])))


@dataclass
class Clock:
    """The invocation's budget: how much is left, and how much one part may take of it."""

    budget_s: float
    started: float = field(default_factory=time.perf_counter)

    def left(self) -> float:
        return self.budget_s - (time.perf_counter() - self.started)


# --- running the preset's points -------------------------------------------------------------------


def compiles(point) -> bool:
    return any(point.fields.get(name) == "true" for name in COMPILE_FIELDS)


def point_flags(cfg: ReportConfig, point) -> list[str]:
    """What this report sets on top of a preset point: the model, step counts, seed and data workers."""
    compiled = compiles(point)
    steps = 8 if cfg.smoke else cfg.speed_steps
    skip = max(1, steps // (3 if compiled else 6))
    flags = ["--model-path", cfg.model_path, "--max-steps", str(steps), "--logging-steps", str(max(1, steps // 6)),
             "--throughput-skip-steps", str(skip), "--random-seed", str(cfg.random_seed),
             "--dataloader-num-workers", str(cfg.dataloader_num_workers)]
    if point.fields.get("use_lora") == "true":
        flags += ["--lora-r", str(cfg.lora_r)]
    if cfg.smoke:
        flags += SMOKE_FLAGS + (SMOKE_SIDE_FLAGS if point.values.get("data") != "journal" else [])
        flags += SMOKE_BUDGET_FLAGS if point.fields.get("token_budget") else []
        if point.fields.get("attn_implementation") == "flex_attention":
            flags += ["--attn-implementation", "sdpa"]  # flex attention has no CPU backward
    return flags


def run_point(point, flags: list[str], run_dir: Path, timeout_s: float, launcher: list[str] = ()) -> dict:
    """One finetuning.py run of a preset point (scripts/sweep.py's runner); its status and figures as a row.
    ``launcher``, when given, starts finetuning.py in place of the plain interpreter (e.g. accelerate launch)."""
    from arc25.commands import sweep

    command = point.command(run_dir, [], overrides=flags)
    if launcher:
        command = [*launcher, *command[1:]]  # a one-process point's command is [python, finetuning.py, ...]
    figures = sweep.run_point(command, run_dir, timeout_s, log_name="run.log")
    status = figures["status"]
    if status == "timeout":
        status = f"timeout after {timeout_s:.0f} s"
    elif status not in ("ok", "oom"):
        status = f"error: {(figures['error'] or '')[:160] or 'no output'}"
    return {"status": status, "seconds": figures["wall_s"], "run_dir": str(run_dir),
            **{k: figures.get(k) for k in SPEED_FIGURES},
            "compile_s": read_json(run_dir / "compile.json").get("compile_s")}


def _run_variants(part: str, variants: list[str], clock: Clock, reserve_s: float, cuda: bool, measure):
    """Yields a row per variant from ``measure(point, timeout_s)`` as each ends; one that needs CUDA or misses the
    budget is skipped."""
    points = speed_points()
    for variant in variants:
        point = points[variant]
        row = {"part": part, "name": variant, **point.values, "optim": point.fields.get("optim")}
        left = clock.left() - reserve_s
        if not cuda and any(point.fields.get(name) == "true" for name in CUDA_FIELDS):
            row["status"] = "skipped: needs CUDA"
        elif left < 30:
            row["status"] = "skipped: budget spent"
        else:
            row.update(measure(point, min(240.0 if compiles(point) else 150.0, left)))
        figure = row.get("real_tokens_per_s") or row.get("step_wall_ms") or ""
        print(f"{part} {variant}: {row['status']} {figure}", flush=True)
        yield row


# --- parts -----------------------------------------------------------------------------------------


def part_env(cfg: ReportConfig) -> tuple[list[dict], dict]:
    """Versions, the device, and a measured bf16 matmul TFLOP/s (the realistic MFU denominator)."""
    from arc25.train.profiling import environment

    env = environment(cfg.random_seed)
    return [{"part": "env", "name": key, "status": "ok", "value": value} for key, value in env.items()], env


def part_speed(cfg: ReportConfig, clock: Clock, out: Path, reserve_s: float, cuda: bool):
    """One short training run per variant; a variant that does not fit the budget becomes a skipped row."""
    return _run_variants("speed", cfg.variant_list(), clock, reserve_s, cuda, lambda point, timeout_s: run_point(
        point, point_flags(cfg, point), out / "speed" / point.name.replace("/", "-"), timeout_s))


def part_journal(cfg: ReportConfig, clock: Clock, out: Path, reserve_s: float) -> list[dict]:
    """The research journal's own finetuning script on its benchmark (scripts/journal_baseline.py), one row per
    --journal-modes; a row that says why when its files are not prepared."""
    from arc25.commands.journal_baseline import JournalArgs, measure, parse_modes

    modes = parse_modes(cfg.journal_modes, "--journal-modes")
    left = clock.left() - reserve_s
    if left < 60:
        return [{"part": "journal", "name": f"{m}/journal/journal script", "mode": m, "data": "journal",
                 "option": "journal script", "status": "skipped: budget spent"} for m in modes]
    return measure(JournalArgs(output_dir=str(out / "journal"), journal_dir=cfg.journal_dir,
                               wheel_dir=cfg.journal_wheel_dir, model_path=cfg.model_path, modes=cfg.journal_modes,
                               max_steps=cfg.speed_steps, lora_r=cfg.lora_r, random_seed=cfg.random_seed,
                               timeout_s=min(240.0, left / len(modes)), smoke=cfg.smoke))


def part_profile(cfg: ReportConfig, clock: Clock, out: Path, reserve_s: float, cuda: bool):
    """A few steps of each --profile-variants run under torch.profiler: wall vs kernel time, syncs, heaviest ops."""

    def measure(point, timeout_s: float) -> dict:
        skip = 1 if cfg.smoke else 5
        steps = skip + 1 + cfg.profile_steps + 1
        run_dir = out / "profile" / point.name.replace("/", "-")
        # Later flags win: the variant's step count and throughput window give way to the profiler's.
        flags = [*point_flags(cfg, point), "--max-steps", str(steps), "--throughput-skip-steps", str(skip),
                 "--logging-steps", str(steps), "--profile-steps", str(cfg.profile_steps)]
        trained = run_point(point, flags, run_dir, timeout_s)
        summary = read_json(run_dir / "profile" / "summary.json")
        status = trained["status"] if summary or trained["status"] != "ok" else "error: no profile written"
        return dict(status=status, seconds=trained["seconds"], run_dir=trained["run_dir"],
                    device=trained.get("device"), **summary)

    return _run_variants("profile", cfg.profile_variant_list(), clock, reserve_s, cuda, measure)


# Sharded full fine-tuning against one plain process: name -> accelerate config, or None for plain.
SCALE_STRATEGIES = {"plain": None, "fsdp": "configs/fsdp.yaml", "zero3": "configs/deepspeed_zero3.yaml"}
SCALE_POINT = "full/mixture/plain"


def part_scale(cfg: ReportConfig, clock: Clock, out: Path, cuda: bool):
    """Full fine-tuning of --model-path as one plain process and sharded by FSDP2 and DeepSpeed ZeRO-3, through
    the configs users launch: peak memory per GPU and speed. One GPU exercises every code path (a rank holds all
    of a 1-rank shard); the CPU rehearsal shards 2 gloo ranks and runs FSDP alone (ZeRO's CPU op compiles for
    minutes)."""
    import importlib.util

    from arc25.commands.launch import free_port

    point = speed_points()[SCALE_POINT]
    processes = 1 if cuda else 2
    for strategy in (["fsdp"] if cfg.smoke else list(SCALE_STRATEGIES)):
        config = SCALE_STRATEGIES[strategy]
        row = {"part": "scale", "name": f"{SCALE_POINT} {strategy}", "strategy": strategy,
               "processes": 1 if config is None else processes}
        left = clock.left()
        if strategy == "zero3" and importlib.util.find_spec("deepspeed") is None:
            row["status"] = "skipped: deepspeed is not installed (pip install 'arc25[deepspeed]')"
        elif left < 60:
            row["status"] = "skipped: budget spent"
        else:
            flags, launcher = point_flags(cfg, point), []
            if config is not None:
                # The same finetuning.py command under the config's launcher; the global batch grows with the ranks.
                launcher = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(ROOT / config),
                            "--num_processes", str(processes), "--main_process_port", str(free_port())]
                if not cuda:
                    launcher += ["--mixed_precision", "no"]
                if cfg.smoke:
                    per_device = int(flags[flags.index("--per-device-train-batch-size") + 1])
                    flags += ["--batch-size", str(per_device * processes)]
            row.update(run_point(point, flags, out / "scale" / strategy, min(200.0, left - 30), launcher))
        print(f"scale {strategy}: {row['status']} {row.get('peak_memory_gib') or ''}", flush=True)
        yield row


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
    from arc25.commands.learning_ladder import Args

    return ["h-line"] if cfg.smoke else load_recipe(Args, LADDER_GPU)["rungs"]


def part_learn(cfg: ReportConfig, clock: Clock, out: Path, reserve_s: float) -> list[dict]:
    """The learning ladder's GPU preset within --learn-minutes of training (split over its rungs), scored on
    held-out tasks beside the guessing baseline."""
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
    report = read_json(run_dir / "ladder.json")
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
                     "by_draws": " ".join(f"{k}:{percent(v.get('greedy'), 0)}"
                                          for k, v in row["scores"]["model"]["by_draws"].items())})
    return rows


def part_sample(cfg: ReportConfig, clock: Clock, out: Path) -> list[dict]:
    """Programs/s generated by the speed model and the learnt one, and programs/s through execute_batch."""
    import itertools

    import torch

    from arc25.models import loading
    from arc25.prompts.encoders import DEFAULT_ENCODER_SPEC
    from arc25.infer.generation import encode_prompts
    from arc25.sandbox import execute_batch
    from arc25.infer.generation import generate_completions
    from arc25.tasks import make_mixture, task_stream
    from arc25.tasks.tasksets import load_task_set

    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    rows = []
    tasks = load_task_set("synthetic", n=8 if cfg.smoke else 64, seed=cfg.random_seed, max_side=6 if cfg.smoke else 10)
    candidates = [("speed model", cfg.model_path, 16 if cfg.smoke else 128)]
    # The ladder's last rung trained the model that has seen the most.
    rungs = [r["rung"] for r in read_json(out / "learn" / "ladder.json").get("rows", [])]
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
        return percent(value)
    if kind == "x":
        return f"{value:.2f}x"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return str(value)


def _table(header: list[str], lines: list[list[str]]) -> str:
    return table(header, lines, markdown=True)


def write_report(out: Path, cfg: ReportConfig, env: dict, rows: list[dict], seconds: float) -> None:
    from arc25.infer.plot import plot_learning_curve, plot_speed

    speed = [r for r in rows if r["part"] == "speed"]
    journal = [r for r in rows if r["part"] == "journal"]
    ours = [r for r in speed if r.get("data") == "journal"]
    compare_to_plain(speed)
    compare_to_journal(journal, ours)
    # Lists (the profiler's heaviest ops) stay in results.json and report.md; a CSV cell holds one value.
    write_csv(rows, out / "results.csv")
    (out / "results.json").write_text(json.dumps({"env": env, "rows": rows, "seconds": seconds}, indent=2, default=str))

    command = "python scripts/gpu_report.py " + " ".join(sys.argv[1:])
    device = env.get("device") or next((r["device"] for r in rows if r.get("device")), None) or _device_name()
    lines = [f"# arc25 GPU report\n\n`{command}` — {device}, {time.strftime('%Y-%m-%d')}, "
             f"{seconds:.0f} s\n"]
    if env:
        lines += ["## Environment\n", _table(["what", "value"], [[k, str(v)] for k, v in env.items()]), ""]
    if speed:
        lines += [f"## Training speed (`{cfg.model_path}`, LoRA r={cfg.lora_r} or full fine-tuning)\n",
                  _table(["mode", "data", "option", "status", "real tok/s", "vs plain", "samples/s", "padding",
                          "data wait", "peak GiB", "MFU", "loss", "compile s"],
                         [[r["mode"], r["data"], r["option"], r["status"], _fmt(r.get("real_tokens_per_s")),
                           _fmt(r.get("vs_plain"), "x"), _fmt(r.get("samples_per_s")),
                           _fmt(r.get("padding_fraction"), "pct"), _fmt(r.get("data_wait_fraction"), "pct"),
                           _fmt(r.get("peak_memory_gib")), _fmt(r.get("mfu"), "pct"), _fmt(r.get("train_loss")),
                           _fmt(r.get("compile_s"))]
                          for r in speed]), ""]
    if journal:
        tokens = {("journal" if r["part"] == "journal" else "ours"): r["tokens_per_sample"]
                  for r in journal + ours if r.get("tokens_per_sample")}
        lines += ["## The research journal's finetuning script beside ours, on its benchmark (1 input of 10x10, 5 "
                  "draws, batch 16)\n",
                  _table(["mode", "code", "status", "samples/s", "x journal", "real tok/s", "x journal (tok/s)",
                          "tokens/sample", "peak GiB", "optimizer"],
                         [[r["mode"], "journal @" + r.get("journal_commit", "") if r["part"] == "journal"
                           else r["option"], r["status"], _fmt(r.get("samples_per_s")),
                           _fmt(r.get("vs_journal"), "x"), _fmt(r.get("real_tokens_per_s")),
                           _fmt(r.get("vs_journal_tokens"), "x"), _fmt(r.get("tokens_per_sample")),
                           _fmt(r.get("peak_memory_gib")), r.get("optim") or "default"] for r in journal + ours]),
                  "",
                  "Same GPU, model shape (random init), tasks and batch; LoRA at the same rank. The journal's "
                  "prompt carries an English preamble, so its samples are longer in tokens here "
                  f"({_fmt(tokens.get('journal'))} vs {_fmt(tokens.get('ours'))} per sample with the builtin "
                  "tokenizer): samples/s is the journal's own figure, real tokens/s compares the code per token. "
                  "Both are measured after the first sixth of the steps; the journal's whole-run "
                  "train_samples_per_second is in results.csv.", ""]
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
    scale = [r for r in rows if r["part"] == "scale"]
    if scale:
        lines += [f"## Sharded full fine-tuning (`{cfg.model_path}`, {SCALE_POINT}; memory per GPU, rank 0)\n",
                  _table(["strategy", "processes", "status", "peak GiB", "real tok/s", "samples/s", "loss"],
                         [[r["strategy"], _fmt(r.get("processes")), r["status"], _fmt(r.get("peak_memory_gib")),
                           _fmt(r.get("real_tokens_per_s")), _fmt(r.get("samples_per_s")), _fmt(r.get("train_loss"))]
                          for r in scale]), ""]
    sample = [r for r in rows if r["part"] == "sample"]
    if sample:
        lines += ["## Sampling and execution\n",
                  _table(["what", "status", "programs/s", "tokens/s", "batch", "new tokens"],
                         [[r["name"], r["status"], _fmt(r.get("programs_per_s")), _fmt(r.get("tokens_per_s")),
                           _fmt(r.get("batch")), _fmt(r.get("max_new_tokens"))] for r in sample]), ""]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    first_rung = next((Path(r["run_dir"]) for r in rows if r["part"] == "learn" and r.get("run_dir")), out / "learn")
    history = first_rung / "log_history.jsonl"
    plot_speed([r["name"] for r in speed], [r.get("real_tokens_per_s") for r in speed], out / "speed.png")
    plot_learning_curve(read_jsonl(history) if history.is_file() else [], out / "learning.png")


def compare_to_plain(speed: list[dict]) -> None:
    """Each speed row gets its speed over the plain path's of the same mode and data, measured in this same call."""
    plain = {(r["mode"], r["data"]): r.get("real_tokens_per_s") for r in speed if r["option"] == "plain"}
    for r in speed:
        base = plain.get((r["mode"], r["data"]))
        if base and r.get("real_tokens_per_s"):
            r["vs_plain"] = round(r["real_tokens_per_s"] / base, 2)


def compare_to_journal(journal: list[dict], ours: list[dict]) -> None:
    """Each of our rows on the journal's benchmark gets its speed over the journal script's of the same mode."""
    base = {r["mode"]: r for r in journal if r.get("samples_per_s")}
    for r in ours:
        ref = base.get(r.get("mode"))
        if ref and r.get("samples_per_s"):
            r["vs_journal"] = round(r["samples_per_s"] / ref["samples_per_s"], 2)
            if r.get("real_tokens_per_s") and ref.get("real_tokens_per_s"):
                r["vs_journal_tokens"] = round(r["real_tokens_per_s"] / ref["real_tokens_per_s"], 2)


def _device_name() -> str:
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    cfg = parse(ReportConfig, argv, description=__doc__)
    import torch

    cuda = torch.cuda.is_available()
    if not cuda and not cfg.smoke:
        fail("no CUDA GPU is visible: this report measures a GPU; add --smoke to rehearse it on CPU with tiny")
    if cfg.smoke:
        cfg.model_path = cfg.learn_model_path = "tiny"
    out = Path(cfg.output_dir).resolve()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        fail(f"--output-dir {cfg.output_dir!r} cannot be created: {err.strerror or err}")
    clock = Clock(cfg.budget_s)
    parts = cfg.part_list()
    # A time limit's SIGTERM (the device call's, `timeout`'s) ends the report like Ctrl-C: the running training is
    # stopped (arc25.commands.launch.run_logged) and what was measured is written.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    env, rows = {}, []
    # Time kept back for later parts while an earlier one runs.
    reserve = {"speed": (90 if "learn" in parts else 0) + (60 if "sample" in parts else 0), "learn": 60 if "sample" in parts else 0}
    reserve["journal"] = reserve["speed"] + (120 if "speed" in parts else 0)
    reserve["profile"] = reserve["journal"] + (120 if "journal" in parts else 0)
    if cfg.smoke:
        reserve = {k: v / 6 for k, v in reserve.items()}
    try:
        for part in PARTS:
            if part not in parts:
                continue
            print(f"== {part} ({clock.left():.0f} s left)", flush=True)
            try:
                if part == "env":
                    new, env = part_env(cfg)
                elif part == "profile":
                    new = part_profile(cfg, clock, out, reserve["profile"], cuda)
                elif part == "journal":
                    new = part_journal(cfg, clock, out, reserve["journal"])
                elif part == "speed":
                    new = part_speed(cfg, clock, out, reserve["speed"], cuda)
                elif part == "learn":
                    new = part_learn(cfg, clock, out, reserve["learn"])
                elif part == "sample":
                    new = part_sample(cfg, clock, out)
                else:
                    new = part_scale(cfg, clock, out, cuda)
                # The speed, profile and scale parts yield each row as its run ends: the report is rewritten
                # after every row, so a call cut short still leaves what it measured.
                for row in new:
                    rows.append(row)
                    write_report(out, cfg, env, rows, cfg.budget_s - clock.left())
            except Exception as err:  # a part's failure is a row, never the end of the report
                rows.append({"part": part, "name": part, "status": f"error: {type(err).__name__}: {err}"[:300]})
                write_report(out, cfg, env, rows, cfg.budget_s - clock.left())
    except KeyboardInterrupt:
        print("interrupted: writing what was measured", flush=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
    write_report(out, cfg, env, rows, cfg.budget_s - clock.left())
    print((out / "report.md").read_text())
    print(f"wrote {out}/report.md, results.csv, results.json, speed.png, learning.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
