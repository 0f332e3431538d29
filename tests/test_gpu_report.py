"""scripts/gpu_report.py: the CPU rehearsal writes every file with rows from every part; bad input is one line."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(args, tmp_path, timeout=300):
    env = {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1",
           "CUDA_VISIBLE_DEVICES": "", "MPLBACKEND": "Agg", "HOME": str(tmp_path)}
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu_report.py"), *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_smoke_report_has_every_part_and_file(tmp_path):
    out = tmp_path / "report"
    # The smoke's own speed list less its packing and grouping points (tests/test_packing.py trains packed rows and
    # grouped batches; the cut-short test below starts the group variant): what is asserted.
    variants = "full/mixture/plain,full/mixture/liger,full/mixture/budget16k"
    proc = _run(["--smoke", "--out", str(out), "--variants", variants, "--profile-steps", "1"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in ("report.md", "results.csv", "results.json", "speed.png", "learning.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    rows = list(csv.DictReader(open(out / "results.csv")))
    by_part = {part: [r for r in rows if r["part"] == part]
               for part in ("env", "profile", "journal", "speed", "learn", "sample", "scale")}
    assert all(by_part.values()), {k: len(v) for k, v in by_part.items()}
    # CPU: the plain path trains and is measured; CUDA-only options are rows that say so, not crashes.
    speed = {r["option"]: r for r in by_part["speed"]}
    assert speed["plain"]["status"] == "ok" and float(speed["plain"]["real_tokens_per_s"]) > 0
    assert speed["liger"]["status"] == "skipped: needs CUDA"
    # A token budget packs whole samples into one row: no padding at all.
    assert speed["budget16k"]["status"] == "ok" and float(speed["budget16k"]["padding_fraction"]) == 0
    # Without the journal's files the journal part is a row that says how to prepare them.
    (journal,) = by_part.pop("journal")
    assert journal["status"].startswith("skipped: ") and "--prepare" in journal["status"], journal
    (profiled,) = by_part["profile"]
    assert profiled["status"] == "ok" and float(profiled["step_wall_ms"]) > 0, profiled
    assert (Path(profiled["run_dir"]) / "profile" / "trace.json").is_file()
    # The learn part is the learning ladder's preset: a rung trained, scored beside guessing.
    (learn,) = by_part["learn"]
    assert learn["status"] == "ok" and int(learn["global_step"]) > 0 and learn["tasks"] == "4", learn
    assert learn["greedy_solve_rate"] != "" and learn["guess_solve_rate"] != ""
    assert (out / "learn" / "ladder.md").is_file() and (out / "learn" / "h-line" / "final").is_dir()
    assert all(r["status"] == "ok" and float(r["programs_per_s"]) > 0 for r in by_part["sample"])
    # The scale part launches configs/fsdp.yaml as users do: on CPU, 2 gloo ranks that each hold half the model.
    (sharded,) = by_part["scale"]
    assert sharded["strategy"] == "fsdp" and sharded["status"] == "ok" and float(sharded["real_tokens_per_s"]) > 0
    assert "sharded: rank 1 holds" in (Path(sharded["run_dir"]) / "run.log").read_text()
    report = (out / "report.md").read_text()
    for heading in ("## Environment", "## Where a step's time goes", "## Training speed", "## Learning", "## Sampling and execution",
                    "## Sharded full fine-tuning"):
        assert heading in report
    env = json.loads((out / "results.json").read_text())["env"]
    assert env["matmul_tflops"] > 0 and env["device"].startswith("cpu")


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, message",
    [
        (["--out", "x"], "no CUDA GPU is visible"),
        (["--smoke", "--parts", "env,warp"],
         "unknown part(s) warp; choose from env, profile, journal, speed, learn, sample, scale"),
        (["--smoke", "--journal-modes", "lora,qlora"], "--journal-modes 'lora,qlora': choose from lora, full"),
        (["--smoke", "--variants", "lora/mixture/turbo"], "is not MODE/DATA/OPTION"),
        (["--smoke", "--budget-s", "0"], "--budget-s must be > 0"),
    ],
)
def test_bad_input_is_one_line(args, message, tmp_path):
    proc = _run(args, tmp_path, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and message in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr


def test_speed_variants_are_the_sweep_presets_points():
    """The speed part runs points of configs/sweeps/speed_options.yaml, with its own steps, seed and model."""
    import finetuning
    from arc25.cli import parse
    from arc25.commands import gpu_report

    cfg = parse(gpu_report.ReportConfig, ["--parts", "speed", "--speed-steps", "30"])
    variants = cfg.variant_list()
    assert variants[:8] == gpu_report.SHORT_VARIANTS
    assert len(variants) == len(set(variants)) == len(gpu_report.speed_points()) > 8
    # Both compile options pay their compile in the first steps: a third of the steps is left out of the figures.
    for name, skip in (("lora/mixture/layers", "10"), ("lora/mixture/compile", "10"), ("lora/mixture/plain", "5")):
        flags = gpu_report.point_flags(cfg, gpu_report.speed_points()[name])
        assert flags[flags.index("--throughput-skip-steps") + 1] == skip, name
    point = gpu_report.speed_points()["lora/journal/batch2x"]
    command = point.command(Path("x"), [], overrides=gpu_report.point_flags(cfg, point))
    run = parse(finetuning.Config, command[command.index("--output-dir"):])
    assert (run.per_device_train_batch_size, run.batch_size, run.max_seq_len, run.n_inputs) == (32, 32, 512, 1)
    assert run.use_lora and run.lora_r == 32 and run.max_steps == 30 and not run.use_liger_kernel
    assert run.model_path == "qwen2.5-0.5b-shape" and run.random_seed == cfg.random_seed


def test_named_variant_lists_are_preset_points_and_expand_in_order():
    from arc25.cli import parse
    from arc25.commands import gpu_report

    points = gpu_report.speed_points()
    for name, variants in gpu_report.VARIANT_LISTS.items():
        assert variants and all(v in points for v in variants), name
    cfg = parse(gpu_report.ReportConfig, ["--variants", "switches-lora,lora/mixture/plain,lora/mixture/liger",
                                          "--profile-variants", "switches-full"])
    assert cfg.variant_list() == gpu_report.SWITCHES_LORA + ["lora/mixture/liger"]
    assert cfg.profile_variant_list() == gpu_report.SWITCHES_FULL
    # Each list holds plain beside the switches it measures, for each data set it uses.
    for variants in (gpu_report.SPEED_GOALS, gpu_report.SWITCHES_LORA, gpu_report.SWITCHES_FULL):
        for variant in variants:
            mode, data, _ = variant.split("/")
            assert f"{mode}/{data}/plain" in variants, variant


@pytest.mark.parametrize("smoke", [False, True])
def test_speed_switches_reach_finetuning(smoke):
    """foreach_adamw sets the old optimizer; a budget point one packed row per micro-batch, also in the smoke."""
    import finetuning
    from arc25.cli import parse
    from arc25.commands import gpu_report

    cfg = parse(gpu_report.ReportConfig, ["--parts", "speed"] + (["--smoke"] if smoke else []))
    points = gpu_report.speed_points()

    def resolved(name):
        point = points[name]
        command = point.command(Path("x"), [], overrides=gpu_report.point_flags(cfg, point))
        return parse(finetuning.Config, command[command.index("--output-dir"):])

    assert resolved("full/mixture/foreach_adamw").optim == "adamw_torch"
    budget = resolved("lora/mixture/budget16k")
    assert budget.per_device_train_batch_size == 1 and budget.token_budget == (2048 if smoke else 16384)
    journal = resolved("full/journal/plain")
    assert (journal.n_inputs, journal.min_side, journal.max_side, journal.min_draws) == (1, 10, 10, 5)


def test_our_rows_on_the_journal_benchmark_are_compared_per_mode():
    from arc25.commands.gpu_report import compare_to_journal

    journal = [{"mode": "lora", "samples_per_s": 20.0, "real_tokens_per_s": 20000.0},
               {"mode": "full", "status": "error: x"}]
    ours = [{"mode": "lora", "samples_per_s": 50.0, "real_tokens_per_s": 21000.0},
            {"mode": "full", "samples_per_s": 40.0, "real_tokens_per_s": 17000.0}]
    compare_to_journal(journal, ours)
    assert (ours[0]["vs_journal"], ours[0]["vs_journal_tokens"]) == (2.5, 1.05)
    assert "vs_journal" not in ours[1]


@pytest.mark.slow
def test_a_report_cut_short_keeps_its_rows_and_stops_its_run(tmp_path):
    """A device call's time limit (SIGTERM) mid-part: the rows already measured are in report.md and results.csv,
    and the training run in flight is stopped, not left holding the GPU for the next call."""
    import os
    import signal
    import time

    out = tmp_path / "report"
    env = {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1",
           "CUDA_VISIBLE_DEVICES": "", "MPLBACKEND": "Agg", "HOME": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "gpu_report.py"), "--smoke", "--parts", "speed",
                             "--variants", "full/mixture/plain,full/mixture/group", "--out", str(out)],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    second = out / "speed" / "full-mixture-group" / "run.log"
    deadline = time.monotonic() + 240
    while not (second.is_file() and "--output-dir" in second.read_text()) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read()[-3000:]
        time.sleep(0.5)
    time.sleep(2)  # the second run is under way
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "interrupted: writing what was measured" in output, output[-3000:]
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert [(r["option"], r["status"]) for r in rows] == [("plain", "ok")], rows
    assert "| full | mixture | plain | ok |" in (out / "report.md").read_text()
    # The interrupted run's process group is gone: no process still has its output folder on its command line.
    time.sleep(1)
    alive = [pid for pid in os.listdir("/proc") if pid.isdigit() and _cmdline_has(pid, str(second.parent))]
    assert not alive, alive


def _cmdline_has(pid: str, text: str) -> bool:
    try:
        return text in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
