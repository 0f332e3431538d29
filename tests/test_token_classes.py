"""Per-token-class loss: the classifier on every draw function, the guessing baselines, and the eval logs."""

import itertools
import json
import math

import pytest

from conftest import run_script

import finetuning
from arc25 import models
from arc25.train import data
from arc25.train import token_classes as tc
from arc25.tasks import Task, derive_seed, make_mixture, task_stream
from arc25.commands.launch import free_port

# Every draw function, one- and two-digit coordinates, and flood_fill's connectivity; under each line, its
# characters' classes: F function, R row, C col, K colour, anything else grammar.
PROGRAM = [
    ("def task(img):", ""),
    ("    draw_line(img, (0, 1), (13, 24), color=5)",
     "    FFFFFFFFF       R  C    RR  CC         K "),
    ("    draw_rectangle(img, (10, 2), (12, 29), color=4)",
     "    FFFFFFFFFFFFFF       RR  C    RR  CC         K "),
    ("    draw_pixel(img, (7, 15), color=2)",
     "    FFFFFFFFFF       R  CC         K "),
    ("    draw_horizontal_line(img, 21, color=7)",
     "    FFFFFFFFFFFFFFFFFFFF      RR        K "),
    ("    draw_vertical_line(img, 16, color=1)",
     "    FFFFFFFFFFFFFFFFFF      CC        K "),
    ("    flood_fill(img, (3, 8), color=9, connectivity=4)",
     "    FFFFFFFFFF       R  C         K                 "),
    ("    flood_fill(img, (11, 0), color=0, connectivity=8)",
     "    FFFFFFFFFF       RR  C         K                 "),
    ("    return img", ""),
]
CODE = "\n".join(line for line, _ in PROGRAM) + "\n"
LETTERS = {"F": "function", "R": "row", "C": "col", "K": "color"}


def _expected_chars() -> list[str]:
    out = []
    for line, marks in PROGRAM:
        marks = marks.ljust(len(line))
        assert len(marks) == len(line), line
        out += [LETTERS.get(m, "grammar") for m in marks] + ["grammar"]  # the newline
    return out


def test_every_character_of_every_draw_function_gets_its_class():
    assert tc.char_classes(CODE) == _expected_chars()
    # Inside a completion (fences and chat tokens around the code) the classes are the same.
    wrapped = "<|im_start|>assistant\n```python\n" + CODE.rstrip() + "\n```<|im_end|>\n"
    offset = wrapped.index(CODE.rstrip())
    classes = tc.char_classes(wrapped)
    assert classes[offset : offset + len(CODE) - 1] == _expected_chars()[: len(CODE) - 1]
    assert set(classes[:offset] + classes[offset + len(CODE) - 1 :]) == {"grammar"}


def test_every_token_of_every_draw_function_gets_its_class():
    tok = models.load_tokenizer("tiny")
    ids = tok(CODE, add_special_tokens=False)["input_ids"]
    classes = tc.classify_tokens(CODE, tok)
    assert len(classes) == len(ids)
    texts = [tok.decode([i]) for i in ids]
    by_class = {c: [t for t, k in zip(texts, classes) if k == c] for c in tc.CLASSES}
    # One token per digit, in program order.
    assert by_class["row"] == list("0" "13" "10" "12" "7" "21" "3" "11")
    assert by_class["col"] == list("1" "24" "2" "29" "15" "16" "8" "0")
    assert by_class["color"] == list("5" "4" "2" "7" "1" "9" "0")
    # Name tokens (the builtin tokenizer's carry the space before them) spell the names and nothing else.
    assert "".join(by_class["function"]).split() == [
        "draw_line", "draw_rectangle", "draw_pixel", "draw_horizontal_line", "draw_vertical_line", "flood_fill",
        "flood_fill"]
    # Grammar keeps every other token, connectivity's value included: the only digits left in it.
    grammar = "".join(by_class["grammar"])
    assert [ch for ch in grammar if ch.isdigit()] == ["4", "8"] and "connectivity=4" in grammar
    assert "def task(img):" in grammar and "return img" in grammar


def test_labels_of_training_examples_classify_as_their_code():
    """What the trainer sees (label runs of a batch row, packed rows too) gives the classes of the code alone."""
    tok = models.load_tokenizer("tiny")
    spec = data.StreamSpec(make_mixture("default", max_side=12), finetuning.Config.grid_encoder, 4096)
    rows = list(itertools.islice(data.examples(tok, spec, 5), 3))
    packed = [label for row in rows for label in row["labels"]]
    runs = tc.label_runs(packed)
    assert len(runs) == 3
    for (start, end), row in zip(runs, rows):
        ids = packed[start:end]
        got = [(tok.decode([i]), c) for i, c in zip(ids, tc.classify_ids(ids, tok)) if c != "grammar"]
        code_ids = tok(row["code"], add_special_tokens=False)["input_ids"]
        want = [(tok.decode([i]), c) for i, c in zip(code_ids, tc.classify_tokens(row["code"], tok)) if c != "grammar"]
        assert got == want and {c for _, c in got} >= {"function", "color"}


def test_guess_baselines():
    tok = models.load_tokenizer("tiny")
    log = math.log
    # One function, one-digit sides: nothing to guess in the name; a coordinate digit is one of max_side values.
    one = tc.guess_baselines(make_mixture("one_empty", max_side=6, functions=("draw_horizontal_line",)), tok)
    assert one == pytest.approx({"function": 0.0, "color": log(10), "row": log(6), "col": log(6)})
    assert tc.guess_baselines(make_mixture("default", max_side=10), tok)["row"] == pytest.approx(log(10))
    # Values 0-29: first digit 0 or 3-9 (1/30 each) or 1, 2 (11/30 each); after 1 or 2, 11 equally likely ways
    # on (stop or one of ten digits); 50 digit tokens in all.
    thirty = (8 * log(30) + 22 * log(30 / 11) + 20 * log(11)) / 50
    assert tc.guess_baselines(make_mixture("default"), tok)["col"] == pytest.approx(thirty)
    # Names split as " draw" "_pixel" and " flood" "_fill": the first token picks one of two, the second is certain.
    two = tc.guess_baselines(make_mixture("default", functions=("draw_pixel", "flood_fill")), tok)
    assert two["function"] == pytest.approx(log(2) / 2)
    # " draw" "_horizontal"/"_vertical" "_line": only the middle token chooses.
    lines = tc.guess_baselines(make_mixture("default", functions=("draw_horizontal_line", "draw_vertical_line")), tok)
    assert lines["function"] == pytest.approx(log(2) / 3)
    assert tc.uniform_guess_loss([(d,) for d in range(10)]) == pytest.approx(log(10))


def test_class_losses_on_a_model_and_tasks():
    """The standalone API: Task and EvalTask alike; the figures do not depend on how the tasks are batched."""
    from arc25.tasks.tasksets import synthetic_tasks

    tok = models.load_tokenizer("tiny")
    model = models.load_model("tiny", tok, seed=1).eval()
    mixture = make_mixture("default", max_side=12)
    tasks = synthetic_tasks(mixture, seed=3, n=5)
    assert len({len(t.code) for t in tasks}) > 1, "need different lengths to see padding"
    spec = finetuning.Config.grid_encoder
    one = tc.class_losses(model, tok, tasks, spec, batch_size=1)
    five = tc.class_losses(model, tok, tasks, spec, batch_size=5, mixture=mixture)
    assert {k: v for k, v in five.items() if not k.startswith("guess_")} == pytest.approx(one, abs=2e-4)
    assert {k for k in five if k.startswith("guess_")} == {f"guess_{c}" for c in tc.GUESSED}
    assert not any(k.startswith("guess_") for k in one)
    assert sum(one[f"tokens_{c}"] for c in tc.CLASSES) == sum(
        len(tok(f"```python\n{t.code.strip()}\n```", add_special_tokens=False)["input_ids"]) for t in tasks) + 5 * 2
    assert model.training is False
    model.train()
    as_tasks = [Task(inputs=t.train_inputs, outputs=t.train_outputs, code=t.code, generator="") for t in tasks]
    assert tc.class_losses(model, tok, as_tasks, spec, batch_size=2) == pytest.approx(one, abs=2e-4)
    assert model.training is True


def test_class_losses_on_a_model_class_without_logits_to_keep():
    """A forward that cannot cut its logits to the completion gets full logits: the same figures."""
    import torch

    from arc25.models import compat
    from arc25.tasks.tasksets import synthetic_tasks

    class WithoutKeep(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask=None, position_ids=None):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids)

    tok = models.load_tokenizer("tiny")
    model = models.load_model("tiny", tok, seed=1)
    wrapped = WithoutKeep(model)
    assert compat.accepts_logits_to_keep(model) and not compat.accepts_logits_to_keep(wrapped)
    tasks = synthetic_tasks(make_mixture("default", max_side=6), seed=3, n=3)
    spec = finetuning.Config.grid_encoder
    expected = tc.class_losses(model, tok, tasks, spec, batch_size=3)
    assert tc.class_losses(wrapped, tok, tasks, spec, batch_size=3) == pytest.approx(expected, abs=1e-5)


def test_eval_collector_reads_fused_outputs_and_plain_logits_alike():
    """trl's fused head gives each label's log-prob; a model without it gives logits: the same figures either way."""
    import torch
    from types import SimpleNamespace

    tok = models.load_tokenizer("tiny")
    spec = data.StreamSpec(make_mixture("default", max_side=12), finetuning.Config.grid_encoder, 4096)
    rows = list(itertools.islice(data.examples(tok, spec, 9), 2))
    width = max(len(r["labels"]) for r in rows)
    labels = torch.tensor([r["labels"] + [-100] * (width - len(r["labels"])) for r in rows])
    logits = torch.randn(2, width, len(tok), generator=torch.Generator().manual_seed(0))
    shifted = labels[:, 1:]
    lp = torch.log_softmax(logits[:, :-1], -1).gather(-1, shifted.clamp(min=0)[..., None])[..., 0]
    fused = SimpleNamespace(log_probs=lp.masked_fill(shifted == -100, 0),
                            is_top1=(logits[:, :-1].argmax(-1) == shifted), logits=None)
    figures = []
    for output in (fused, SimpleNamespace(logits=logits)):
        collector = tc.EvalTokenClasses(tok, "default")
        collector.start()
        collector.observe(output, labels=labels)
        figures.append(collector.metrics())
    assert figures[0] == pytest.approx(figures[1], abs=1e-4)
    # Random logits: every class costs about log(vocabulary size), far above its guess.
    assert all(abs(figures[0][f"eval_loss_{c}"] - math.log(len(tok))) < 1.5 for c in tc.CLASSES)
    assert set(figures[0]) == {f"eval_{k}_{c}" for c in tc.CLASSES for k in ("loss", "accuracy")} | {
        f"eval_guess_{c}" for c in tc.GUESSED}


def _eval_tasks(cfg: finetuning.Config):
    # The tasks data.eval_dataset tokenises (none is skipped: max_seq_len leaves room for all).
    return list(itertools.islice(task_stream(derive_seed(cfg.random_seed, data.EVAL_KEY), cfg.task_mixture()),
                                 cfg.n_eval_tasks))


def _check_logged_against_recomputed(out, cfg: finetuning.Config) -> tuple[dict, dict]:
    """The last evaluation's class figures equal class_losses run on the final model over the eval tasks."""
    from transformers import AutoModelForCausalLM

    history = [json.loads(line) for line in (out / "log_history.jsonl").read_text().splitlines()]
    evals = [e for e in history if "eval_loss" in e]
    assert [e["step"] for e in evals] == list(range(cfg.eval_steps, cfg.max_steps + 1, cfg.eval_steps))
    logged = evals[-1]
    tok = models.load_tokenizer("tiny")
    model = AutoModelForCausalLM.from_pretrained(out / "final")
    recomputed = tc.class_losses(model, tok, _eval_tasks(cfg), cfg.grid_encoder, cfg.prompt_style, batch_size=3,
                                 mixture=cfg.task_mixture())
    for c in tc.CLASSES:
        assert logged[f"eval_loss_{c}"] == pytest.approx(recomputed[f"loss_{c}"], abs=2e-3), c
        assert logged[f"eval_accuracy_{c}"] == pytest.approx(recomputed[f"accuracy_{c}"], abs=1e-4), c
        assert 0 <= logged[f"eval_accuracy_{c}"] <= 1
    guesses = tc.guess_baselines(cfg.task_mixture(), tok)
    assert {c: logged[f"eval_guess_{c}"] for c in tc.GUESSED} == pytest.approx(guesses, abs=1e-4)
    assert "eval_guess_grammar" not in logged
    # The classes split every completion token: their token-weighted mean is the whole loss.
    n = sum(recomputed[f"tokens_{c}"] for c in tc.CLASSES)
    weighted = sum(recomputed[f"loss_{c}"] * recomputed[f"tokens_{c}"] for c in tc.CLASSES) / n
    assert weighted == pytest.approx(recomputed["loss"], abs=1e-3)
    return logged, recomputed


@pytest.mark.slow
@pytest.mark.parametrize("packing", [False, True], ids=["padded", "packed"])
def test_finetuning_logs_class_losses_at_each_evaluation(tiny_run, packing):
    run = tiny_run(packing)
    logged, recomputed = _check_logged_against_recomputed(run.out, run.cfg)
    # One batch holds the whole eval set, so the trainer's own eval_loss is the token mean the classes split.
    assert logged["eval_loss"] == pytest.approx(recomputed["loss"], abs=1e-3)


@pytest.mark.slow
def test_two_ranks_sum_their_shares(tmp_path, python):
    """2 CPU ranks each evaluate half the set; the logged figures are those of the whole set (no deadlock)."""
    out = tmp_path / "ddp"
    argv = ["--output-dir", str(out), "--model-path", "tiny", "--max-steps", "2", "--eval-steps", "2",
            "--n-eval-tasks", "6", "--per-device-eval-batch-size", "3", "--batch-size", "2",
            "--per-device-train-batch-size", "1", "--max-side", "12", "--max-seq-len", "4096", "--no-log-to-wandb",
            "--dataloader-num-workers", "0", "--solve-rate-steps", "1000", "--n-solve-rate-tasks", "1", "--n-gpus", "2"]
    run_script([python, "-m", "accelerate.commands.launch", "--num_processes", "2", "--num_machines", "1",
                "--main_process_port", str(free_port()), "--mixed_precision", "no", "--multi_gpu", "finetuning.py",
                *argv], timeout=300)
    assert json.loads((out / "cfg.json").read_text())["world_size"] == 2
    cfg = finetuning.Config.from_cli(argv)
    _check_logged_against_recomputed(out, cfg)
