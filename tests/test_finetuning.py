"""finetuning.py end to end on the builtin tiny model, on CPU: training, masking, ranks, resume, flags."""

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

from conftest import ROOT, SMALL, run_script

import finetuning
from arc25 import data, models

JOURNAL = ROOT.parent / "shared" / "seed" / "iteration_09_improve_training_script.md"


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


def test_two_processes_see_disjoint_samples(tmp_path, python):
    out = tmp_path / "run"
    run_script([
        python, "-m", "accelerate.commands.launch", "--config_file", "configs/cpu_2proc.yaml", "finetuning.py",
        "--output-dir", str(out), "--max-steps", "3", "--batch-size", "4", "--per-device-train-batch-size", "2",
        "--eval-steps", "0", "--save-steps", "100", "--dump-samples", "6", *SMALL,
    ], timeout=300)
    ranks = [_dumped(out / "samples" / f"rank{r}.jsonl") for r in (0, 1)]
    assert [len(r) for r in ranks] == [6, 6]
    assert {s["rank"] for s in ranks[0]} == {0} and {s["rank"] for s in ranks[1]} == {1}
    codes0, codes1 = ({s["code"] for s in r} for r in ranks)
    assert not codes0 & codes1, "ranks trained on the same samples"
    assert json.loads((out / "cfg.json").read_text())["world_size"] == 2


def test_rerun_resumes_with_fresh_samples(tmp_path, python):
    out = tmp_path / "run"
    common = ["--output-dir", str(out), "--batch-size", "2", "--per-device-train-batch-size", "2", "--eval-steps", "0",
              "--save-steps", "2", "--dump-samples", "4", *SMALL]
    run_script([python, "finetuning.py", "--max-steps", "2", *common])
    assert (out / "checkpoint-2").is_dir()
    run_script([python, "finetuning.py", "--max-steps", "4", *common])
    resolved = json.loads((out / "cfg.json").read_text())
    assert resolved["resume_from"].endswith("checkpoint-2") and resolved["resume_step"] == 2
    state = json.loads((out / "checkpoint-4" / "trainer_state.json").read_text())
    assert state["global_step"] == 4
    dumped = _dumped(out / "samples" / "rank0.jsonl")
    before = {s["code"] for s in dumped if s["run_start_step"] == 0}
    after = [s for s in dumped if s["run_start_step"] == 2]
    assert before and after and all(s["step"] >= 2 for s in after)
    assert not before & {s["code"] for s in after}, "the resumed run replayed samples"


def test_help_lists_every_flag(python):
    text = run_script([python, "finetuning.py", "--help"], timeout=60).stdout
    flags = """--output-dir --model-path --adapter-path --device-map --random-seed --max-steps --n-gpus --batch-size
    --per-device-train-batch-size --per-device-eval-batch-size --max-seq-len --logging-steps --eval-steps --save-steps
    --log-to-wandb --no-log-to-wandb --resume-from-checkpoint --no-resume-from-checkpoint --packing --no-packing
    --use-liger-kernel --dataloader-num-workers --lora-r --use-lora --use-rslora --use-dora --lora-weight-initialization
    --learning-rate --lr-scheduler-type --warmup-ratio --max-grad-norm --optim --torch-dtype --gradient-checkpointing
    --grid-encoder --mixture --n-inputs --min-side --max-side --min-draws --max-draws --draw-functions
    --dump-samples""".split()
    missing = [f for f in flags if f not in text]
    assert not missing, f"--help lacks {missing}"


def journal_lines() -> list[str]:
    """The journal's finetuning.py commands, as kept in tests/journal_commands.txt."""
    text = (ROOT / "tests" / "journal_commands.txt").read_text()
    return [line for line in text.splitlines() if line and not line.startswith("#")]


@pytest.mark.skipif(not JOURNAL.exists(), reason="research journal not checked out beside the repo")
def test_journal_command_list_is_complete():
    text = JOURNAL.read_text().replace("\\\n", " ")
    found = [" ".join(line.split()) for line in text.splitlines()
             if "finetuning.py" in line and line.lstrip().startswith(("python", "accelerate"))]
    assert found == journal_lines()


def test_every_journal_command_parses():
    lines = journal_lines()
    assert len(lines) >= 10
    for line in lines:
        argv = shlex.split(line.split("finetuning.py", 1)[1]) + ["--model-path", "tiny"]
        cfg = finetuning.Config.from_cli(argv)
        assert cfg.output_dir and cfg.max_steps > 0


def test_journal_commands_run(tmp_path, python):
    """The journal's single-GPU and 2-GPU commands, verbatim but for the model, paths and a few steps."""
    plain = next(line for line in journal_lines() if line.startswith("python finetuning.py"))
    launched = next(line for line in journal_lines() if line.startswith("accelerate launch --num_processes 2"))

    def shrink(line: str, out: Path) -> list[str]:
        line = re.sub(r"--output-dir \S+", f"--output-dir {out}", line)
        line = re.sub(r"--max-steps \d+", "--max-steps 2", line)
        return shlex.split(line) + ["--model-path", "tiny", "--eval-steps", "0", "--max-side", "6"]

    argv = shrink(plain, tmp_path / "plain")
    run_script([python, *argv[1:]], timeout=300)
    argv = shrink(launched, tmp_path / "launched")
    run_script([python, "-m", "accelerate.commands.launch", *argv[2:]], timeout=300)
    assert json.loads((tmp_path / "launched" / "cfg.json").read_text())["world_size"] == 2


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
        (["--lora-weight-initialization", "magic"], "pissa"),
        (["--prompt-style", "verbose"], "compact, describe-dsl"),
        (["--config", "/no/such/recipe.yaml"], "is not a file"),
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
def test_bad_run_is_one_clear_line_before_the_model_loads(args, message, python, tmp_path):
    argv = [python, "finetuning.py", "--output-dir", str(tmp_path / "out"), "--no-log-to-wandb", *args]
    proc = run_script(argv, timeout=120, check=False)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and message in last, proc.stderr[-2000:]
    assert "parameters:" not in proc.stderr, "the model loaded before the error"


def test_wandb_without_credentials_goes_offline_under_the_output_dir(tmp_path, monkeypatch):
    import types

    from arc25 import training

    monkeypatch.setitem(sys.modules, "wandb", types.ModuleType("wandb"))
    for var in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_DIR", "WANDB_PROJECT", "WANDB_SILENT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc
    report_to, tracker = training.setup_tracking(True, tmp_path, "arc25-test")
    assert report_to == ["wandb"] and "offline" in tracker
    assert os.environ["WANDB_MODE"] == "offline" and os.environ["WANDB_DIR"] == str(tmp_path)


def test_without_wandb_installed_falls_back_to_tensorboard(tmp_path, monkeypatch):
    from arc25 import training

    monkeypatch.setitem(sys.modules, "wandb", None)  # import fails
    report_to, tracker = training.setup_tracking(True, tmp_path, "arc25-test")
    assert report_to == ["tensorboard"] and "not installed" in tracker


def test_incomplete_checkpoints_are_not_resumed(tmp_path):
    from arc25 import training

    done = tmp_path / "checkpoint-4"
    done.mkdir()
    (done / "model.safetensors").write_bytes(b"x")
    (done / "trainer_state.json").write_text(json.dumps({"global_step": 4}))
    (tmp_path / "checkpoint-8").mkdir()  # a save killed halfway: no state, no weights
    assert training.find_checkpoint(tmp_path) == (done, 4)
