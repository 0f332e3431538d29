"""scripts/journal_baseline.py: what the journal's script is given and told, without running it (that needs its
files, which this repository does not hold and CI cannot fetch: `arc25-journal-baseline --smoke` rehearses it by
hand once they are prepared)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arc25.commands import journal_baseline as jb
from arc25.commands.journal_env.launch import _fitting_length

ROOT = Path(__file__).resolve().parents[1]


def _fake_wheels(folder: Path, leave_out: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for pin, version in jb.PINS.items():
        if pin != leave_out:
            (folder / f"{jb._dist_name(pin)}-{version}-py3-none-any.whl").write_bytes(b"")


def test_unprepared_journal_is_a_one_line_error_naming_the_fix(tmp_path):
    args = jb.JournalArgs(journal_dir=str(tmp_path / "j"), wheel_dir=str(tmp_path / "w"))
    with pytest.raises(ValueError, match=r"lacks the journal's scripts/finetuning.py, arc25: run .*--prepare"):
        jb.check_prepared(args)
    (tmp_path / "j" / "scripts").mkdir(parents=True)
    (tmp_path / "j" / "scripts" / "finetuning.py").write_text("")
    (tmp_path / "j" / "arc25").mkdir()
    _fake_wheels(tmp_path / "w", leave_out="trl")
    with pytest.raises(ValueError, match=r"lacks 1 wheel\(s\) \(trl==0.17.0\)") as err:
        jb.check_prepared(args)
    assert "\n" not in str(err.value)
    (tmp_path / "w" / "trl-0.17.0-py3-none-any.whl").write_bytes(b"")
    jb.check_prepared(args)
    # Another version of a pinned project is not the pinned wheel.
    (tmp_path / "w" / "trl-0.17.0-py3-none-any.whl").rename(tmp_path / "w" / "trl-0.19.1-py3-none-any.whl")
    with pytest.raises(ValueError, match="trl==0.17.0"):
        jb.check_prepared(args)


def test_measure_without_files_returns_rows_that_say_why(tmp_path):
    rows = jb.measure(jb.JournalArgs(output_dir=str(tmp_path / "out"), journal_dir=str(tmp_path / "none"),
                                     modes="lora,full"))
    assert [r["name"] for r in rows] == ["lora/journal/journal script", "full/journal/journal script"]
    assert all(r["status"].startswith("skipped: ") and "--prepare" in r["status"] for r in rows)
    assert not (tmp_path / "out").exists()  # nothing heavy happened


def test_journal_flags_are_its_speed_table_command_on_our_benchmark(tmp_path):
    args = jb.JournalArgs(max_steps=30, lora_r=32, random_seed=5)
    bench = jb.benchmark("lora")
    assert (bench.per_device_train_batch_size, bench.batch_size, bench.max_seq_len) == (16, 16, 512)
    assert (bench.n_inputs, bench.min_side, bench.max_side, bench.min_draws, bench.max_draws) == (1, 10, 10, 5, 5)
    flags = jb.journal_flags(args, "lora", bench, tmp_path / "model", tmp_path / "train", cuda=False)
    text = " ".join(flags)
    for part in ("--device-map None", "--random-seed 5", "--max-steps 30", "--n-gpus 1",
                 "--per-device-train-batch-size 16", "--batch-size 16", "--max-seq-len 512", "--no-log-to-wandb",
                 "--no-resume-from-checkpoint", "--lora-r 32", "--optim adamw_torch"):
        assert part in text, part
    full = jb.journal_flags(args, "full", jb.benchmark("full"), tmp_path, tmp_path, cuda=False)
    assert "--no-use-lora" in full and "--lora-r" not in full
    assert args.skip_steps() == 5 and jb.JournalArgs(smoke=True).steps() == 4


def test_max_seq_len_rises_only_when_the_journal_prompts_do_not_fit():
    flags = ["--max-seq-len", "256", "--x", "1", "--max-seq-len", "512"]
    assert _fitting_length(flags, [400, 512]) == 512
    assert _fitting_length(flags, [400, 1048]) == 1280  # 5 % over the longest, a multiple of 256
    assert _fitting_length(flags, [513]) % 256 == 0 and _fitting_length(flags, [513]) > 513


def test_model_spec_is_our_builtin_shape_in_plain_values():
    from arc25 import models

    spec = jb.model_spec("qwen2.5-0.5b-shape", seed=3)
    json.dumps(spec)  # crosses to the journal's process as JSON
    config = spec["config"]
    assert config["vocab_size"] == 151936 and config["num_hidden_layers"] == 24 and config["rope_theta"] == 1e6
    tokenizer = models.builtin_tokenizer()
    assert (config["eos_token_id"], config["pad_token_id"]) == (tokenizer.eos_token_id, tokenizer.pad_token_id)
    assert Path(spec["tokenizer_file"]).is_file() and spec["dtype"] == "bfloat16"
