"""scripts/sweep.py: the smoke preset end to end, and the grid / status logic on its own."""

import csv

import pytest
from conftest import run_script

from arc25.cli import parse
from scripts import sweep


def _args(argv: list[str]) -> sweep.Args:
    return parse(sweep.Args, argv)


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
    assert sweep.launch_command(2, "torchrun")[1:4] == ["-m", "torch.distributed.run", "--standalone"]
    # Repeats collapse in a product but are positional in a zip.
    product = sweep.parse_grid(_args(["--n-processes", "1,1"]))
    assert product == {"n_processes": ["1"]}
    args = _args(["--zip", "--packing", "off,on,on", "--set", "attn_implementation=sdpa,sdpa,eager"])
    assert [p["attn_implementation"] for p in sweep.expand(sweep.parse_grid(args), zipped=True)] == ["sdpa", "sdpa", "eager"]


def test_failed_points_are_classified():
    assert sweep.classify(1, False, "...\ntorch.OutOfMemoryError: CUDA out of memory. Tried", False)[0] == "oom"
    assert sweep.classify(None, True, "", False) == ("timeout", "")
    status, error = sweep.classify(1, False, "Traceback\nValueError: bad flag\n", False)
    assert status == "error" and "bad flag" in error
    assert sweep.classify(0, False, "", True) == ("ok", "")


@pytest.mark.parametrize("argv, message", [
    (["--sizes", "fixed"], "--sizes fixed needs --max-side"),
    (["--set", "no_such_flag=1"], "FIELD a finetuning.py flag"),
    (["--packing", "maybe"], "on/off"),
    (["--zip", "--max-side", "1,2", "--n-inputs", "1,2,3"], "with --zip every axis needs"),
])
def test_bad_grid_is_one_line_before_any_run(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        _args(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.startswith("error: ") and message in err and err.count("\n") == 1
