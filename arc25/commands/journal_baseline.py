"""The research journal's own finetuning script on its speed benchmark, measured beside ours.

The journal is the ironbar/arc25 repository at commit 128c506 (2025-05-15): its iteration-9 page ("improve the
training script") holds the speed table, which ran scripts/finetuning.py as it is at that commit. Its code is not copied into this repository. It is placed in the
git-ignored ``.journal/``, with its library versions as wheels in ``.whl/journal/``, and run unchanged in a
separate ``--target`` folder, so the speed gap is measured on the same GPU, model shape and tasks:

- benchmark: the ``MODE/journal/plain`` point of configs/sweeps/speed_options.yaml (the speed_benchmark recipe:
  1 input of 10x10, 5 draws, --max-seq-len 512; per-device batch 16 = batch 16), LoRA at our rank or full;
- model: our random-init ``qwen2.5-0.5b-shape`` (arc25/models/builtin.py), written as a Hugging Face folder by the
  journal's own transformers (bfloat16, as its loader asks);
- figure: samples/s from the end of step ``--max-steps // 6`` to the last step (the same window as our speed
  rows); the trainer's whole-run ``train_samples_per_second`` (the journal table's figure) is kept beside it.

What arc25/commands/journal_env/launch.py adds around the journal's script, without editing it: the task generator's
defaults set to the benchmark (the journal edited them by hand per row), one clock callback, an empty ``wandb``
module when none is installed (the script imports it at the top; --no-log-to-wandb never uses it), and
``--optim adamw_torch`` when bitsandbytes is missing (the journal's default paged_adamw_8bit needs it; its wheel,
76 MB, is over what a GPU call carries).

Prepare once, on a machine that reaches the package registry (the GPU box does not):
    1. the journal's repository: `git clone https://github.com/ironbar/arc25 REPO` (any copy of its history will do)
    2. python scripts/journal_baseline.py --prepare --journal-git REPO
   which runs (the pins are PINS below, the journal's environment.yml of that day; 34 wheels, 21 MB):
       git -C REPO archive 128c506e184053779a2e9b5c95c66fca4a309a41 scripts/finetuning.py arc25 \\
           | tar -x -C .journal
       python -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \\
           --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \\
           -d .whl/journal transformers==4.51.3 tokenizers==0.21.1 huggingface-hub==0.30.2 trl==0.17.0 ...
   The GPU box's own torch, numpy, scikit-image/scipy, pillow, jinja2, pyarrow, pandas, xxhash, fsspec, safetensors
   and pyyaml serve the journal too (what a CPU rehearsal imports from outside the wheels).
Run on the GPU machine, with ``.whl/`` and ``.journal/`` copied beside the checkout (gpu_report's journal part calls
this):
    python scripts/journal_baseline.py --output-dir runs/journal --modes lora,full
CPU rehearsal, with wheels for this machine's Python (trains the journal's script 4 steps on builtin tiny):
    python scripts/journal_baseline.py --prepare --journal-git REPO --python-version 3.11 \\
        --wheel-dir /tmp/journal-wheels
    python scripts/journal_baseline.py --smoke --wheel-dir /tmp/journal-wheels --output-dir runs/journal-smoke
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from arc25.cli import DEFAULT_RANDOM_SEED, CliConfig, fail, parse

ROOT = Path(__file__).resolve().parents[2]
LAUNCH = Path(__file__).resolve().parent / "journal_env" / "launch.py"
JOURNAL_REPO = "ironbar/arc25"
JOURNAL_COMMIT = "128c506e184053779a2e9b5c95c66fca4a309a41"
JOURNAL_FILES = ("scripts/finetuning.py", "arc25")
# The journal's library versions (its environment.yml at JOURNAL_COMMIT), plus what they import that the GPU box
# lacks: trl 0.17 needs transformers < 5 (DataCollatorForCompletionOnlyLM), which needs huggingface-hub < 1
# (requests); datasets 3.5 imports aiohttp; trl 0.17 and tyro 0.9 import rich (ours do not). tensorboardX and
# protobuf: the script logs to tensorboard when W&B is off.
PINS = {
    "transformers": "4.51.3", "tokenizers": "0.21.1", "huggingface-hub": "0.30.2", "trl": "0.17.0",
    "peft": "0.15.2", "accelerate": "1.6.0", "datasets": "3.5.1", "dill": "0.3.8", "multiprocess": "0.70.16",
    "tyro": "0.9.19", "docstring-parser": "0.16", "typeguard": "4.4.2", "shtab": "1.7.2", "termcolor": "3.1.0",
    "nvidia-ml-py": "13.615.71", "tensorboardX": "2.6.5", "requests": "2.32.3", "urllib3": "2.4.0",
    "idna": "3.10", "certifi": "2025.4.26", "charset-normalizer": "3.4.1", "aiohttp": "3.11.18",
    "aiohappyeyeballs": "2.6.1", "aiosignal": "1.3.2", "attrs": "25.3.0", "frozenlist": "1.6.0",
    "multidict": "6.4.3", "propcache": "0.3.1", "yarl": "1.20.0", "rich": "14.0.0", "markdown-it-py": "3.0.0",
    "mdurl": "0.1.2", "pygments": "2.19.1", "protobuf": "4.25.7",
}
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")
MODES = ("lora", "full")
# The one speed_options point per mode whose data and batch are the journal's benchmark.
BENCHMARK_POINT = "{mode}/journal/plain"
WANDB_STUB = '"""Stand-in: the journal\'s finetuning.py imports wandb at the top; --no-log-to-wandb never uses it."""\n'


def parse_modes(text: str, flag: str = "--modes") -> list[str]:
    modes = [m.strip() for m in text.split(",") if m.strip()]
    if not modes or any(m not in MODES for m in modes):
        raise ValueError(f"{flag} {text!r}: choose from {', '.join(MODES)} (comma-separated)")
    return modes


@dataclass
class JournalArgs(CliConfig):
    """Time the research journal's own finetuning script on its speed benchmark (see the module docstring)."""

    output_dir: str = "runs/journal"
    """Folder for the runs, their logs and journal.json."""
    journal_dir: str = ".journal"
    """Where the journal's scripts/finetuning.py and arc25/ are (git-ignored)."""
    wheel_dir: str = ".whl/journal"
    """The pinned wheels (PINS) for this machine's Python."""
    site_dir: Optional[str] = None
    """Install folder for the wheels (default: in the system temp dir, reused while its wheels match)."""
    model_path: str = "qwen2.5-0.5b-shape"
    """Our builtin model whose shape the journal's script trains (written as a folder for its loader)."""
    modes: str = "lora"
    """Comma-separated: lora (at --lora-r), full."""
    max_steps: int = 60
    """Optimizer steps per run; the first sixth is left out of samples/s."""
    lora_r: int = 32
    """LoRA rank (ours in the speed rows; the journal's default was 16)."""
    random_seed: int = DEFAULT_RANDOM_SEED
    timeout_s: float = 300.0
    """Seconds before a run is killed."""
    smoke: bool = False
    """CPU rehearsal: builtin tiny, batch 2, 4 steps (the benchmark's tasks unchanged)."""

    def validate(self) -> None:
        parse_modes(self.modes)
        if self.max_steps < 2:
            raise ValueError(f"--max-steps must be >= 2 (one step is left out), got {self.max_steps}")

    def mode_list(self) -> list[str]:
        return parse_modes(self.modes)

    def steps(self) -> int:
        return 4 if self.smoke else self.max_steps

    def skip_steps(self) -> int:
        """The speed rows' window (scripts/gpu_report.py point_flags): the first sixth of the steps left out."""
        return max(1, self.steps() // 6)


def _dist_name(name: str) -> str:
    """A project name as wheel file names spell it (PEP 427: runs of -_. become _)."""
    return name.replace("-", "_").replace(".", "_").lower()


def wheel_files(wheel_dir: Path) -> dict[str, Path]:
    """The wheel of each pin found in ``wheel_dir`` (pins without one are left out)."""
    found = {}
    for pin, version in PINS.items():
        for path in sorted(wheel_dir.glob("*.whl")):
            name, _, rest = path.name.partition("-")
            if name.lower() == _dist_name(pin) and rest.startswith(version + "-"):
                found[pin] = path
    return found


def check_prepared(args: JournalArgs) -> None:
    """A one-line ValueError naming what is missing (the journal's files, wheels) and the command that adds it."""
    journal = Path(args.journal_dir)
    missing = [f for f in JOURNAL_FILES if not (journal / f).exists()]
    prepare = "run `python scripts/journal_baseline.py --prepare --journal-git REPO` (see its header)"
    if missing:
        raise ValueError(f"--journal-dir {str(journal)!r} lacks the journal's {', '.join(missing)}: {prepare}")
    wheels = wheel_files(Path(args.wheel_dir))
    absent = [f"{p}=={v}" for p, v in PINS.items() if p not in wheels]
    if absent:
        raise ValueError(f"--journal-wheel-dir {args.wheel_dir!r} lacks {len(absent)} wheel(s) "
                         f"({', '.join(absent[:4])}{', ...' if len(absent) > 4 else ''}): {prepare}")


def prepare(journal_git: str, journal_dir: str, wheel_dir: str, python_version: str) -> None:
    """Place the journal's files at JOURNAL_COMMIT and download the pinned wheels for ``python_version``."""
    git = Path(journal_git)
    if not (git / "HEAD").is_file() and not (git / ".git").exists():
        raise ValueError(f"--journal-git {journal_git!r} is not a git folder of {JOURNAL_REPO} (fetch or clone it)")
    Path(journal_dir).mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(git), "archive", JOURNAL_COMMIT, *JOURNAL_FILES],
                             capture_output=True, check=False)
    if archive.returncode:
        raise ValueError(f"--journal-git {journal_git!r}: no commit {JOURNAL_COMMIT[:7]} with "
                         f"{', '.join(JOURNAL_FILES)}: {archive.stderr.decode(errors='replace').strip()[:200]}")
    subprocess.run(["tar", "-x", "-C", journal_dir], input=archive.stdout, check=True)
    platforms = [flag for p in PLATFORMS for flag in ("--platform", p)]
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                    "--python-version", python_version, "--implementation", "cp", *platforms, "-d", wheel_dir,
                    *(f"{p}=={v}" for p, v in PINS.items())], check=True)
    print(f"placed {', '.join(JOURNAL_FILES)} of {JOURNAL_REPO}@{JOURNAL_COMMIT[:7]} in {journal_dir} and "
          f"{len(wheel_files(Path(wheel_dir)))} wheels in {wheel_dir}")


def install(wheels: list[Path], site_dir: Path) -> None:
    """pip-install the wheels into ``site_dir`` (no index, no dependencies) unless they are there already."""
    marker = site_dir / ".arc25-wheels"
    names = "\n".join(sorted(w.name for w in wheels))
    if marker.is_file() and marker.read_text() == names:
        return
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
                    "--upgrade", "--target", str(site_dir), *map(str, wheels)], check=True)
    if importlib.util.find_spec("wandb") is None:
        (site_dir / "wandb").mkdir(exist_ok=True)
        (site_dir / "wandb" / "__init__.py").write_text(WANDB_STUB)
    marker.write_text(names)


def child_env(site_dir: Path, journal_dir: Path) -> dict:
    """The journal's environment: its wheels, then its own package ``arc25``, then the caller's path without ours."""
    inherited = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                 if p and Path(p).resolve() != ROOT]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site_dir), str(journal_dir.resolve()), *inherited]),
               WANDB_DISABLED="true", HF_HUB_OFFLINE="1")
    return env


def model_spec(model_path: str, seed: int) -> dict:
    """What arc25/commands/journal_env/launch.py needs to write our builtin ``model_path`` for the journal's loader."""
    from arc25 import models

    tokenizer = models.builtin_tokenizer()
    special = models.SPECIAL_TOKENS
    return {"config": models.builtin_params(model_path, tokenizer), "tokenizer_file": str(models.TOKENIZER_FILE),
            "special_tokens": {"eos": special["eos"], "pad": special["pad"],
                               "additional": [special["bos"], special["endoftext"]]},
            "chat_template": models.CHATML_TEMPLATE, "seed": seed, "dtype": "bfloat16"}


def benchmark(mode: str):
    """Our run of the benchmark point (a finetuning.Config): its tasks, batch and sequence length."""
    import finetuning
    from arc25.commands import sweep

    points = {p.name: p for p in sweep.plan(sweep.Args(preset="speed_options"))}
    command = points[BENCHMARK_POINT.format(mode=mode)].command(Path("unused"), [])
    return parse(finetuning.Config, command[command.index("--output-dir"):])


def journal_flags(args: JournalArgs, mode: str, bench, model_dir: Path, train_dir: Path, cuda: bool) -> list[str]:
    """The journal's finetuning.py flags: its speed table's command with our benchmark's numbers."""
    batch = 2 if args.smoke else bench.per_device_train_batch_size
    flags = ["--output-dir", str(train_dir), "--device-map", "None", "--random-seed", str(args.random_seed),
             "--max-steps", str(args.steps()), "--n-gpus", "1", "--per-device-train-batch-size", str(batch),
             "--batch-size", str(2 if args.smoke else bench.batch_size), "--max-seq-len", str(bench.max_seq_len),
             "--no-log-to-wandb", "--no-resume-from-checkpoint", "--save-steps", "1000000000",
             "--model-path", str(model_dir)]
    flags += ["--lora-r", str(args.lora_r)] if mode == "lora" else ["--no-use-lora"]
    if not (cuda and importlib.util.find_spec("bitsandbytes")):
        flags += ["--optim", "adamw_torch"]
    return flags


def measure(args: JournalArgs) -> list[dict]:
    """One row per mode: the journal's script on the benchmark, or why it did not run."""
    import torch

    from arc25.commands.launch import classify, run_logged

    modes = args.mode_list()
    rows = [{"part": "journal", "name": f"{mode}/journal/journal script", "mode": mode, "data": "journal",
             "option": "journal script", "journal_commit": JOURNAL_COMMIT[:7]} for mode in modes]
    try:
        check_prepared(args)
    except ValueError as err:
        return [dict(row, status=f"skipped: {err}") for row in rows]
    cuda = torch.cuda.is_available()
    if not cuda and not args.smoke:
        return [dict(row, status="skipped: the journal's script is timed on a GPU (--smoke rehearses it on CPU)")
                for row in rows]
    out = Path(args.output_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    site = Path(args.site_dir or Path(tempfile.gettempdir()) / "arc25-journal-site")
    journal = Path(args.journal_dir)
    env = child_env(site, journal)
    model_name = "tiny" if args.smoke else args.model_path
    # Beside the install, not in the output: 1 GB of random weights is no result (a GPU call's $OUT comes back).
    model_dir = site.parent / "arc25-journal-models" / f"{model_name}-seed{args.random_seed}"
    setup_log = out / "setup.log"
    try:
        install(list(wheel_files(Path(args.wheel_dir)).values()), site)
        if not model_dir.is_dir():
            spec, partial = out / "model_spec.json", model_dir.with_name(model_dir.name + ".partial")
            spec.write_text(json.dumps(model_spec(model_name, args.random_seed)))
            rc, timed_out, _ = run_logged([sys.executable, str(LAUNCH), "write-model", str(spec), str(partial)],
                                          setup_log, args.timeout_s, env=env)
            if rc != 0 or timed_out:
                status, error = classify(rc, timed_out, setup_log.read_text(errors="replace"), False)
                raise RuntimeError(f"writing the model folder failed ({status}): {error}")
            partial.rename(model_dir)
    except (subprocess.CalledProcessError, RuntimeError, OSError) as err:
        return [dict(row, status=f"error: {str(err)[:240]}") for row in rows]
    for row, mode in zip(rows, modes):
        bench = benchmark(mode)
        run_dir = out / mode
        run_dir.mkdir(parents=True, exist_ok=True)
        clock_file = run_dir / "clock.json"
        clock_file.unlink(missing_ok=True)
        settings = {"script": str((journal / "scripts" / "finetuning.py").resolve()), "clock_file": str(clock_file),
                    "skip_steps": args.skip_steps(), "model_path": str(model_dir), "seed": args.random_seed,
                    "probe_samples": 8 if args.smoke else 64,
                    "task": {"n_inputs": bench.n_inputs, "min_side": bench.min_side, "max_side": bench.max_side,
                             "min_draws": bench.min_draws, "max_draws": bench.max_draws}}
        (run_dir / "settings.json").write_text(json.dumps(settings, indent=2))
        flags = journal_flags(args, mode, bench, model_dir, run_dir / "train", cuda)
        command = [sys.executable, str(LAUNCH), "train", str(run_dir / "settings.json"), "--", *flags]
        rc, timed_out, seconds = run_logged(command, run_dir / "run.log", args.timeout_s, cwd=run_dir, env=env)
        clock = json.loads(clock_file.read_text()) if clock_file.is_file() else {}
        status, error = classify(rc, timed_out, (run_dir / "run.log").read_text(errors="replace"), bool(clock))
        if status == "timeout":
            status = f"timeout after {args.timeout_s:.0f} s"
        elif status not in ("ok", "oom"):
            status = f"error: {error[:200] or 'no output'}"
        row.update(status=status, seconds=round(seconds, 1), run_dir=str(run_dir),
                   lora_r=args.lora_r if mode == "lora" else None, **{k: v for k, v in clock.items()})
        print(f"journal {row['name']}: {status} {row.get('samples_per_s') or ''}", flush=True)
    return rows


@dataclass
class Args(JournalArgs):
    prepare: bool = False
    """Instead of running: place the journal's files and download the wheels (needs --journal-git)."""
    journal_git: Optional[str] = None
    """With --prepare: a git folder of ironbar/arc25 (fetched or cloned)."""
    python_version: str = "3.12"
    """With --prepare: the Python the wheels are for (the GPU box runs 3.12)."""

    def validate(self) -> None:
        super().validate()
        if self.prepare and not self.journal_git:
            raise ValueError("--prepare needs --journal-git: a git folder of ironbar/arc25 (fetch or clone it)")


def main(argv: list[str] | None = None) -> int:
    cfg = parse(Args, argv, description=__doc__)
    if cfg.prepare:
        try:
            prepare(cfg.journal_git, cfg.journal_dir, cfg.wheel_dir, cfg.python_version)
        except ValueError as err:
            fail(str(err))
        return 0
    rows = measure(cfg)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "journal.json").write_text(json.dumps(rows, indent=2, default=str))
    print(json.dumps(rows, indent=2, default=str))
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
