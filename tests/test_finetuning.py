"""finetuning.py end to end on the builtin tiny model, on CPU: training, masking, ranks, resume, flags."""

import dataclasses
import itertools
import json
import math
import os
import re
import shlex
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest import ROOT, run_script

import finetuning
from arc25 import models
from arc25.train import data
from arc25.models import loading
from arc25.commands.launch import free_port


@pytest.mark.slow
def test_main_trains_every_parameter(tmp_path):
    cfg = finetuning.Config(
        output_dir=str(tmp_path), max_steps=3, batch_size=2, per_device_train_batch_size=2, eval_steps=0,
        save_steps=100, max_side=6, max_seq_len=1024, log_to_wandb=False, dataloader_num_workers=0,
    )
    metrics = finetuning.main(cfg)
    assert metrics["global_step"] == 3 and math.isfinite(metrics["train_loss"])
    tok = models.load_tokenizer("tiny")
    before = models.load_model("tiny", tok, seed=cfg.random_seed).state_dict()
    after = load_file(tmp_path / "final" / "model.safetensors")
    assert set(after) <= set(before)
    unchanged = [name for name, value in after.items() if torch.equal(value, before[name])]
    assert not unchanged, f"parameters that did not train: {unchanged}"
    resolved = json.loads((tmp_path / "cfg.json").read_text())
    assert resolved["gradient_accumulation_steps"] == 1 and resolved["use_lora"] is False


@pytest.mark.slow
def test_bf16_autocast_on_cpu_trains_float32_weights(tmp_path):
    """--mixed-precision bf16 on CPU: the trainer autocasts, the weights it saves stay float32 and all train."""
    cfg = finetuning.Config(
        output_dir=str(tmp_path), max_steps=3, batch_size=2, per_device_train_batch_size=2, eval_steps=0,
        save_steps=100, max_side=6, max_seq_len=1024, log_to_wandb=False, dataloader_num_workers=0,
        mixed_precision="bf16",
    )
    metrics = finetuning.main(cfg)
    assert metrics["global_step"] == 3 and math.isfinite(metrics["train_loss"])
    resolved = json.loads((tmp_path / "cfg.json").read_text())
    assert resolved["bf16"] is True and resolved["torch_dtype"] == "float32"
    before = models.load_model("tiny", models.load_tokenizer("tiny"), seed=cfg.random_seed).state_dict()
    after = load_file(tmp_path / "final" / "model.safetensors")
    assert all(value.dtype == torch.float32 for value in after.values())
    assert not [name for name, value in after.items() if torch.equal(value, before[name])]


def test_collated_batch_masks_prompt_and_padding():
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    tok = models.load_tokenizer("tiny")
    spec = data.StreamSpec(finetuning.Config(max_side=6).task_mixture(), finetuning.Config.grid_encoder, 2048)
    rows = [next(data.examples(tok, spec, seed)) for seed in (1, 2, 3)]
    batch = data.BatchCollator(DataCollatorForLanguageModeling(pad_token_id=tok.pad_token_id))(rows)
    labels, ids, mask = batch["labels"], batch["input_ids"], batch["attention_mask"]
    assert len({len(r["input_ids"]) for r in rows}) > 1, "need rows of different lengths to see padding"
    for i, row in enumerate(rows):
        n = len(row["input_ids"])
        n_prompt = sum(1 for x in row["labels"] if x == -100)
        assert (labels[i, :n_prompt] == -100).all() and (labels[i, n:] == -100).all()
        assert (mask[i, n:] == 0).all() and (ids[i, n:] == tok.pad_token_id).all()
        assert torch.equal(labels[i, n_prompt:n], ids[i, n_prompt:n])
        completion = tok.decode(ids[i, n_prompt:n])
        assert row["code"].strip() in completion and completion.rstrip().endswith("<|im_end|>")
        assert "Example 1" in tok.decode(ids[i, :n_prompt]) and "def task" not in tok.decode(ids[i, :n_prompt])
    stats = batch[data.BatchStats.KEY]
    assert stats.codes == tuple(r["code"] for r in rows) and stats.n_samples == 3
    assert stats.real_tokens == int(mask.sum()) and stats.padded_tokens == mask.numel()


def _dumped(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _small_config(out: Path, **overrides) -> finetuning.Config:
    settings = dict(output_dir=str(out), batch_size=2, per_device_train_batch_size=2, eval_steps=0, save_steps=100,
                    max_side=6, max_seq_len=1024, log_to_wandb=False, dataloader_num_workers=0)
    return finetuning.Config(**{**settings, **overrides})



@pytest.mark.slow
def test_a_schedule_over_minutes_warms_up_and_decays_within_the_time_cap(tmp_path):
    """--schedule-over minutes: the LR rises over the first fifth of the minutes and falls to ~0 at the cap, with
    --max-steps far out of reach (over steps, this run would never leave its warm-up)."""
    cfg = _small_config(tmp_path, max_steps=100_000, max_minutes=0.25, schedule_over="minutes",
                        lr_scheduler_type="linear", warmup_ratio=0.2, learning_rate=1e-3, logging_steps=1,
                        save_steps=1_000_000, max_side=4, n_inputs=1, mixture="empty")
    metrics = finetuning.main(cfg)
    assert 10 < metrics["global_step"] < 100_000
    state = json.loads((tmp_path / f"checkpoint-{metrics['global_step']}" / "trainer_state.json").read_text())
    rates = [e["learning_rate"] for e in state["log_history"] if "learning_rate" in e]
    peak = rates.index(max(rates))
    assert max(rates) > 0.8e-3 and 0 < peak < len(rates) - 1, rates
    assert rates[-1] < 0.15e-3, rates
    assert all(a >= b for a, b in zip(rates[peak:], rates[peak + 1:])), rates  # decays without climbing again

@pytest.mark.slow
def test_rerun_resumes_with_fresh_samples(tmp_path):
    out = tmp_path / "run"
    finetuning.main(_small_config(out, max_steps=2, save_steps=2, dump_samples=4))
    assert (out / "checkpoint-2").is_dir()
    finetuning.main(_small_config(out, max_steps=4, save_steps=2, dump_samples=4))
    resolved = json.loads((out / "cfg.json").read_text())
    assert resolved["resume_from"].endswith("checkpoint-2") and resolved["resume_step"] == 2
    state = json.loads((out / "checkpoint-4" / "trainer_state.json").read_text())
    assert state["global_step"] == 4
    dumped = _dumped(out / "samples" / "rank0.jsonl")
    before = {s["code"] for s in dumped if s["run_start_step"] == 0}
    after = [s for s in dumped if s["run_start_step"] == 2]
    assert before and after and all(s["step"] >= 2 for s in after)
    assert not before & {s["code"] for s in after}, "the resumed run replayed samples"


@pytest.mark.slow
def test_seeded_loss_falls_into_its_band(tmp_path):
    """Tiny's loss after 40 seeded steps: 6.2 -> 2.63 here. The band misses a learning rate 100x too small
    (6.26) and labels that leak onto the prompt (3.24), yet leaves room for other torch builds' arithmetic."""
    cfg = _small_config(tmp_path, max_steps=40, batch_size=4, per_device_train_batch_size=4, max_side=5, n_inputs=1,
                        mixture="empty", logging_steps=5, save_steps=1000, random_seed=7, completion_only_loss=True)
    finetuning.main(cfg)
    # The trainer saves at the last step whatever --save-steps says.
    state = json.loads((tmp_path / "checkpoint-40" / "trainer_state.json").read_text())
    losses = [e["loss"] for e in state["log_history"] if "loss" in e]
    assert losses[0] > 5.5, losses
    assert 2.3 < losses[-1] < 2.95, losses


@pytest.mark.slow
def test_lora_on_a_saved_pretrained_folder_then_resume_from_its_adapter(tmp_path):
    """The default path for pretrained models: LoRA on a local folder; then a second run continues its adapter."""
    tok = models.load_tokenizer("tiny")
    base = tmp_path / "base"
    models.load_model("tiny", tok, seed=3).save_pretrained(str(base))
    tok.save_pretrained(str(base))
    base_weights = load_file(base / "model.safetensors")

    first = tmp_path / "first"
    finetuning.main(_small_config(first, model_path=str(base), max_steps=2, save_steps=2, learning_rate=1e-2))
    resolved = json.loads((first / "cfg.json").read_text())
    assert resolved["use_lora"] is True and resolved["torch_dtype"] == "float32"
    adapter = load_file(first / "final" / "adapter_model.safetensors")
    assert adapter and all("lora_" in name for name in adapter)
    assert any(name.endswith("lora_B.weight") and value.abs().sum() > 0 for name, value in adapter.items()), \
        "LoRA B starts at zero; training must have moved it"
    assert loading.read_training_info(first / "final")["model_path"] == str(base)
    assert loading.read_training_info(first / "checkpoint-2")["random_seed"] == 7
    assert all(torch.equal(v, load_file(base / "model.safetensors")[k]) for k, v in base_weights.items())

    second = tmp_path / "second"
    finetuning.main(_small_config(second, model_path=str(base), adapter_path=str(first / "final"), max_steps=2,
                                  learning_rate=1e-2))
    resumed = load_file(second / "final" / "adapter_model.safetensors")
    assert set(resumed) == set(adapter)
    moved = [n for n in adapter if not torch.equal(adapter[n], resumed[n])]
    assert moved, "the second run did not train the adapter"
    # Continued, not restarted: B matrices start from the first run's (non-zero), so none is back near zero.
    b_names = [n for n in adapter if n.endswith("lora_B.weight")]
    assert all(resumed[n].abs().sum() > 0.5 * adapter[n].abs().sum() for n in b_names)

    with pytest.raises(ValueError, match="was trained on base"):
        finetuning.prepare(_small_config(tmp_path / "wrong", model_path="tiny", adapter_path=str(first / "final")))


@pytest.mark.slow
def test_two_ranks_with_two_workers_each_journal_command(tmp_path, python):
    """The journal's 2-GPU command (verbatim but for the model, paths and steps) on 2 CPU ranks x 2 data workers:
    the four streams train on pairwise-disjoint samples, and the solve rate is measured over both ranks."""
    launched = next(line for line in journal_lines() if line.startswith("accelerate launch --num_processes 2"))
    out = tmp_path / "launched"
    argv = _shrink(launched, out) + ["--dataloader-num-workers", "2", "--dump-samples", "16",
                                     "--solve-rate-steps", "2", "--n-solve-rate-tasks", "3", "--save-steps", "2"]
    # A port of its own: another test may be launching ranks at the same time (the slow tests run two at once).
    run_script([python, "-m", "accelerate.commands.launch", "--main_process_port", str(free_port()), *argv[2:]],
               timeout=300)
    assert json.loads((out / "cfg.json").read_text())["world_size"] == 2
    streams: dict[tuple[int, int], set[str]] = {}
    for rank in (0, 1):
        for sample in _dumped(out / "samples" / f"rank{rank}.jsonl"):
            assert sample["rank"] == rank
            streams.setdefault((rank, sample["worker"]), set()).add(sample["code"])
    assert sorted(streams) == [(0, 0), (0, 1), (1, 0), (1, 1)], "every rank's two workers must each feed it"
    for a, b in itertools.combinations(streams, 2):
        assert not streams[a] & streams[b], f"streams {a} and {b} trained on the same samples"
    state = json.loads((out / "checkpoint-2" / "trainer_state.json").read_text())
    (solve,) = [e for e in state["log_history"] if "eval_solve_rate" in e]
    assert solve["eval_solve_n_tasks"] == 3 and 0 <= solve["eval_solve_rate"] <= 1


def test_help_lists_every_flag(capsys):
    with pytest.raises(SystemExit) as exit_info:
        finetuning.Config.from_cli(["--help"])
    text = capsys.readouterr().out
    assert exit_info.value.code == 0
    flags = []
    for field in dataclasses.fields(finetuning.Config):
        flag = "--" + field.name.replace("_", "-")
        flags += [flag, "--no-" + flag[2:]] if field.type in ("bool", bool) else [flag]
    missing = [f for f in flags if f not in text]
    assert not missing, f"--help lacks {missing}"
    assert "--config FILE.yaml" in text


def test_settings_passed_through_by_name_exist_in_trl_and_peft():
    """SFT_FIELDS copies Config fields onto trl's config by name (a rename there fails here); every LoRA flag
    reaches peft's config."""
    from trl import SFTConfig

    sft = {f.name for f in dataclasses.fields(SFTConfig)}
    assert set(finetuning.SFT_FIELDS) <= sft, set(finetuning.SFT_FIELDS) - sft
    cfg = finetuning.Config(lora_r=8, lora_dropout=0.1, use_dora=True, use_rslora=True, lora_weight_initialization="pissa")
    built = cfg.lora_config()
    assert (built.r, built.lora_alpha, built.lora_dropout, built.use_dora, built.use_rslora, built.init_lora_weights) == \
        (8, 8, 0.1, True, True, "pissa")


def journal_lines() -> list[str]:
    """The journal's finetuning.py commands, as kept in tests/journal_commands.txt."""
    text = (ROOT / "tests" / "journal_commands.txt").read_text()
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_every_journal_command_parses():
    lines = journal_lines()
    assert len(lines) >= 10
    for line in lines:
        argv = shlex.split(line.split("finetuning.py", 1)[1]) + ["--model-path", "tiny"]
        cfg = finetuning.Config.from_cli(argv)
        assert cfg.output_dir and cfg.max_steps > 0


def _shrink(line: str, out: Path) -> list[str]:
    line = re.sub(r"--output-dir \S+", f"--output-dir {out}", line)
    line = re.sub(r"--max-steps \d+", "--max-steps 2", line)
    return shlex.split(line) + ["--model-path", "tiny", "--eval-steps", "0", "--max-side", "6"]


@pytest.mark.slow
def test_journal_single_gpu_command_runs(tmp_path, python):
    """The journal's first command, verbatim but for the model, paths and a few steps, as `python finetuning.py`."""
    plain = next(line for line in journal_lines() if line.startswith("python finetuning.py"))
    run_script([python, *_shrink(plain, tmp_path / "plain")[1:]], timeout=300)
    assert json.loads((tmp_path / "plain" / "train_metrics.json").read_text())["global_step"] == 2


def test_a_recipe_sets_mixed_precision_and_yaml_no_is_refused(tmp_path, capsys):
    """`mixed_precision: bf16` in a recipe is obeyed; `no` (accelerate's word) reads as false in YAML: one line."""
    recipe = tmp_path / "r.yaml"
    recipe.write_text("mixed_precision: bf16\n")
    assert finetuning.Config.from_cli(["--config", str(recipe), "--output-dir", "x"]).mixed_precision == "bf16"
    recipe.write_text("mixed_precision: no\n")
    with pytest.raises(SystemExit) as exit_info:
        finetuning.Config.from_cli(["--config", str(recipe), "--output-dir", "x"])
    text = capsys.readouterr().err
    assert exit_info.value.code == 2 and text.startswith("error: ") and "fp32" in text and "quote the value" in text
    assert text.count("\n") == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model-path", "/no/such/model"], "neither an existing folder nor a builtin"),
        (["--batch-size", "6", "--per-device-train-batch-size", "4"], "not a multiple"),
        (["--optim", "adamw_magic"], "adamw_torch"),
        (["--lr-scheduler-type", "zigzag"], "cosine"),
        (["--grid-encoder", "FancyEncoder()"], "MinimalGridEncoder"),
        (["--mixture", "chaos"], "one_empty"),
        (["--max-side", "40"], "max_side"),
        (["--min-draws", "1", "--max-draws", "3", "--draw-weights", "1,2"], "must be 3 weights"),
        (["--draw-weights", "1,two"], "comma-separated numbers"),
        (["--lora-weight-initialization", "magic"], "pissa"),
        (["--prompt-style", "verbose"], "compact, describe-dsl"),
        (["--config", "/no/such/recipe.yaml"], "is not a file"),
        (["--mixed-precision", "no"], "'auto', 'bf16', 'fp32'"),
    ],
)
def test_bad_flags_exit_with_one_line(args, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        finetuning.Config.from_cli(["--no-log-to-wandb", *args])
    assert exit_info.value.code == 2
    text = capsys.readouterr().err
    assert text.startswith("error: ") and message in text and text.count("\n") == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--max-seq-len", "64"], "fits no sample"),
        (["--output-dir", "/proc/arc25-cannot-write"], "cannot be written"),
        (["--use-liger-kernel"], "CUDA"),
    ],
)
def test_bad_run_is_one_clear_line_before_the_model_loads(args, message, tmp_path, monkeypatch, capsys):
    def no_model(*_args, **_kwargs):
        raise AssertionError("the model loaded before the error")

    monkeypatch.setattr(models, "load_model", no_model)
    with pytest.raises(SystemExit) as exit_info:
        finetuning.cli(["--output-dir", str(tmp_path / "out"), "--no-log-to-wandb", *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and err[-1].startswith("error: ") and message in err[-1]


def test_wandb_without_credentials_goes_offline_under_the_output_dir(tmp_path, monkeypatch):
    import types

    from arc25.train import run as run_folder

    monkeypatch.setitem(sys.modules, "wandb", types.ModuleType("wandb"))
    for var in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_DIR", "WANDB_PROJECT", "WANDB_SILENT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc
    report_to, tracker = run_folder.setup_tracking(True, tmp_path, "arc25-test")
    assert report_to == ["wandb"] and "offline" in tracker
    assert os.environ["WANDB_MODE"] == "offline" and os.environ["WANDB_DIR"] == str(tmp_path)


def test_without_wandb_installed_falls_back_to_tensorboard(tmp_path, monkeypatch):
    from arc25.train import run as run_folder

    monkeypatch.setitem(sys.modules, "wandb", None)  # import fails
    report_to, tracker = run_folder.setup_tracking(True, tmp_path, "arc25-test")
    assert report_to == ["tensorboard"] and "not installed" in tracker


def test_incomplete_checkpoints_are_not_resumed(tmp_path):
    from arc25.train import run as run_folder

    done = tmp_path / "checkpoint-4"
    done.mkdir()
    (done / "model.safetensors").write_bytes(b"x")
    (done / "trainer_state.json").write_text(json.dumps({"global_step": 4}))
    (tmp_path / "checkpoint-8").mkdir()  # a save killed halfway: no state, no weights
    assert run_folder.find_checkpoint(tmp_path) == (done, 4)
    # FSDP's sharded checkpoints: complete once torch.distributed.checkpoint has written the shards' .metadata
    sharded = tmp_path / "checkpoint-12" / "pytorch_model_fsdp_0"
    sharded.mkdir(parents=True)
    (sharded / "__0_0.distcp").write_bytes(b"x")
    (sharded.parent / "trainer_state.json").write_text(json.dumps({"global_step": 12}))
    assert run_folder.find_checkpoint(tmp_path) == (done, 4), "shards without their .metadata are not complete"
    (sharded / ".metadata").write_bytes(b"x")
    assert run_folder.find_checkpoint(tmp_path) == (sharded.parent, 12)


def test_completion_only_loss_resolution_and_labels(tmp_path):
    """From scratch, the prompt is trained on too (its grids teach positions); validation scores programs only."""
    common = dict(max_steps=2, max_side=5, max_seq_len=1024, log_to_wandb=False, eval_steps=0)
    run = finetuning.prepare(finetuning.Config(output_dir=str(tmp_path / "a"), **common))
    assert run.spec.completion_only_loss is False
    assert json.loads((tmp_path / "a" / "cfg.json").read_text())["completion_only_loss"] is False
    run = finetuning.prepare(finetuning.Config(output_dir=str(tmp_path / "b"), completion_only_loss=True, **common))
    assert run.spec.completion_only_loss is True
    tok = models.load_tokenizer("tiny")
    for only in (True, False):
        spec = dataclasses.replace(run.spec, completion_only_loss=only)
        (train,) = itertools.islice(data._shard_generator([3], tok, spec), 1)
        masked = sum(label == -100 for label in train["labels"])
        assert (masked > 0) if only else (train["labels"] == train["input_ids"])
        (valid,) = data.eval_dataset(tok, spec, 3, 1)
        assert valid["labels"][0] == -100, "validation keeps the prompt masked whatever the training loss"


@pytest.mark.slow
def test_solve_rate_is_not_timed_as_training(tmp_path, monkeypatch):
    """The solve rate generates and runs programs at a step's end; the throughput clock must be closed by then."""
    import time

    from arc25.train.metrics import ThroughputCallback
    from arc25.train.solve_rate import SolveRateCallback

    pause, calls = 2.0, []

    def slow_measure(self, model):
        calls.append(time.sleep(pause))
        return {"eval_solve_rate": 0.0}

    monkeypatch.setattr(SolveRateCallback, "measure", slow_measure)
    cfg = _small_config(tmp_path, max_steps=3, solve_rate_steps=1, n_solve_rate_tasks=1, throughput_skip_steps=0)
    trainer = finetuning.build_trainer(cfg, finetuning.prepare(cfg))
    kinds = [type(c) for c in trainer.callback_handler.callbacks]
    assert kinds.index(ThroughputCallback) < kinds.index(SolveRateCallback)
    started = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - started
    (throughput,) = [c for c in trainer.callback_handler.callbacks if isinstance(c, ThroughputCallback)]
    assert len(calls) == 3
    # Step times vary with the machine's load, so compare within the run: the timed steps and the pauses must both
    # fit in the wall time; had the pauses been timed as training, they would be counted twice here.
    assert throughput.summary()["totals"]["seconds"] + pause * len(calls) <= wall
