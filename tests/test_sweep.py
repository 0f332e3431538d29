"""scripts/sweep.py: the smoke preset end to end, and the grid / status logic on its own."""

import csv
import sys
import time

import pytest
from conftest import run_script

from arc25.cli import parse
from arc25.commands.launch import classify, finetuning_command, run_logged
from arc25.commands import sweep


def _args(argv: list[str]) -> sweep.Args:
    return parse(sweep.Args, argv)


@pytest.mark.slow
def test_smoke_sweep_writes_rows_and_plots(tmp_path, python):
    out = tmp_path / "sweep"
    run_script([python, "scripts/sweep.py", "--smoke", "--output-dir", str(out), "--timeout-s", "240"], timeout=400)
    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["status"] for r in rows] == ["ok", "ok"]
    assert [r["per_device_train_batch_size"] for r in rows] == ["1", "2"]
    for row in rows:
        for column in ("samples_per_s", "real_tokens_per_s", "padding_fraction", "data_wait_fraction",
                       "tokens_per_sample", "train_samples_per_second"):
            assert row[column] != "", column
        assert float(row["real_tokens_per_s"]) > 0 and 0 <= float(row["padding_fraction"]) <= 1
        assert row["peak_memory_gib"] == "" and row["mfu"] == ""  # CPU: no GPU figures
    assert float(rows[0]["padding_fraction"]) == 0  # one sample per batch pads nothing
    assert len((out / "results.jsonl").read_text().splitlines()) == 2
    for name in ("speed_vs_tokens_per_sample.png", "speed_vs_batch_size.png", "memory_vs_batch_size.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_grid_expansion_and_flags():
    args = _args(["--per-device-train-batch-size", "1,2", "--max-side", "10,20", "--sizes", "fixed", "--packing", "on,off",
         "--set", "lora-r=8"])
    points = sweep.expand(sweep.parse_grid(args), zipped=False)
    assert len(points) == 8
    fields, n_proc = sweep.point_settings(points[0], mixed_min_side=3)
    assert fields["min_side"] == fields["max_side"] == "10" and n_proc == 1
    flags = sweep.flags_for(fields, sweep.bool_fields())
    assert "--packing" in flags and ["--lora-r", "8"] == flags[flags.index("--lora-r"):][:2]
    assert "--no-packing" in sweep.flags_for(sweep.point_settings(points[1], 3)[0], sweep.bool_fields())
    zipped = sweep.expand({"n_inputs": ["1", "2"], "max_side": ["10", "20"], "draws": ["5"]}, zipped=True)
    assert zipped == [{"n_inputs": "1", "max_side": "10", "draws": "5"}, {"n_inputs": "2", "max_side": "20", "draws": "5"}]
    assert finetuning_command(2, "torchrun")[1:4] == ["-m", "torch.distributed.run", "--standalone"]
    # Repeats collapse in a product but are positional in a zip.
    product = sweep.parse_grid(_args(["--n-processes", "1,1"]))
    assert product == {"n_processes": ["1"]}
    args = _args(["--zip", "--packing", "off,on,on", "--set", "attn_implementation=sdpa,sdpa,eager"])
    assert [p["attn_implementation"] for p in sweep.expand(sweep.parse_grid(args), zipped=True)] == ["sdpa", "sdpa", "eager"]


def test_failed_points_are_classified():
    assert classify(1, False, "...\ntorch.OutOfMemoryError: CUDA out of memory. Tried", False)[0] == "oom"
    assert classify(None, True, "", False) == ("timeout", "")
    status, error = classify(1, False, "Traceback\nValueError: bad flag\n", False)
    assert status == "error" and "bad flag" in error
    assert classify(0, False, "", True) == ("ok", "")


def test_a_timed_out_run_is_killed_with_its_children(tmp_path):
    """The run's whole process group goes, so a launcher's ranks or data workers cannot outlive a timeout."""
    marker = tmp_path / "child_survived"
    child = f"import time; time.sleep(3); open({str(marker)!r}, 'w').close()"
    parent = f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {child!r}]); time.sleep(60)"
    rc, timed_out, seconds = run_logged([sys.executable, "-c", parent], tmp_path / "run.log", 1.0)
    assert timed_out and rc != 0 and seconds < 30
    time.sleep(4)
    assert not marker.exists()


def test_an_interrupted_caller_takes_its_run_down_with_it(tmp_path):
    """Ctrl-C (or a device call's time limit) in the report or sweep stops the run's whole group too: a run left
    in its own session would hold the GPU and skew every later measurement."""
    import signal

    marker = tmp_path / "child_survived"
    child = f"import time; time.sleep(3); open({str(marker)!r}, 'w').close()"
    parent = f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {child!r}]); time.sleep(60)"

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 1.0)
        started = time.perf_counter()
        with pytest.raises(KeyboardInterrupt):
            run_logged([sys.executable, "-c", parent], tmp_path / "run.log", 60.0)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.perf_counter() - started < 30
    time.sleep(4)
    assert not marker.exists()


@pytest.mark.parametrize("name", sweep.preset_names())
def test_every_preset_plans_runs_finetuning_accepts(name):
    """Each point of each preset is a finetuning.py command line that parses and validates (no run); the speed
    presets keep the journal's grid encoding, so their tokens per sample stay comparable with its tables."""
    import finetuning
    from arc25.prompts.encoders import JOURNAL_ENCODER_SPEC

    points = sweep.plan(_args(["--preset", name]))
    assert points and len({p.name for p in points}) == len(points)
    for point in points:
        command = point.command(sweep.ROOT / "runs" / "x", [])
        cfg = parse(finetuning.Config, command[command.index("--output-dir"):])
        assert name == "smoke" or cfg.grid_encoder == JOURNAL_ENCODER_SPEC, point.name
        for field, value in point.fields.items():
            got = getattr(cfg, field)
            if isinstance(got, bool):
                assert got == (value in sweep.TRUE), (point.name, field)
            else:
                assert str(got) == value, (point.name, field)


def test_speed_options_name_their_points_and_scale_the_batch():
    points = {p.name: p for p in sweep.plan(_args(["--preset", "speed_options"]))}
    preset = sweep.load_preset("speed_options")
    # mode x data x option, less the excluded options on the journal's data (each rule drops one point per mode)
    assert len(points) == 2 * 2 * len(preset.groups["option"]) - 2 * len(preset.exclude) > 2 * 2 * 7 - 2
    assert "lora/journal/group" not in points and "full/mixture/compile" in points
    assert "lora/mixture/layers" in points and "lora/mixture/budget16k_layers" in points
    assert points["lora/mixture/batch2x"].fields["per_device_train_batch_size"] == "16"
    journal = points["full/journal/batch2x"]
    assert journal.fields["per_device_train_batch_size"] == journal.fields["batch_size"] == "32"
    assert journal.recipe == "speed_benchmark" and points["full/mixture/plain"].recipe is None
    # The command line's axis replaces the preset's.
    assert [p.name for p in sweep.plan(_args(["--preset", "speed_options", "--set", "option=plain"]))] == [
        "lora/mixture/plain", "lora/journal/plain", "full/mixture/plain", "full/journal/plain"]


@pytest.mark.parametrize("argv, message", [
    (["--preset", "nope"], "--preset 'nope': no such preset; choose one of batch, draws"),
    (["--preset", "speed_options", "--set", "option=turbo"], "axis option takes plain, group"),
    (["--smoke", "--preset", "batch"], "--smoke is --preset smoke"),
])
def test_bad_presets_fail_in_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        _args(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in err and err.count("\n") == 1, err


def test_preset_errors_name_the_bad_value(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("axes:\n  per_device_train_batch_size: 1,2\nrun:\n  max_stepz: 3\n")
    with pytest.raises(ValueError, match="run: max_stepz is not a finetuning.py field"):
        sweep.load_preset(str(bad))
    bad.write_text("axis: {}\n")
    with pytest.raises(ValueError, match="unknown key"):
        sweep.load_preset(str(bad))
    with pytest.raises(ValueError, match="no such preset; choose one of"):
        sweep.load_preset("nope")
