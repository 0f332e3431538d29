"""--compile-layers (arc25.train.compile): decoder layers compiled in place, once per layer class, with dynamic shapes.

The compiled tests use dynamo's "aot_eager" backend (the graphs dynamo and AOTAutograd capture, run without code
generation): what they check (the same numbers as eager, and how often dynamo compiles) does not depend on the
backend, and inductor's C++ builds would cost minutes on the CI machine. Inductor was checked by hand (the dated
section of docs/results/2026-11-30-step-overhead.md).
"""

import itertools
import json
import math

import pytest
import torch
from conftest import TINY_RUN
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

import finetuning
from arc25 import models
from arc25.train import attention
from arc25.train import data
from arc25.train import compile as regional
from arc25.tasks import make_mixture

BACKEND = "aot_eager"


def _model(tok, n_layers: int, lora: bool):
    """The tiny model with ``n_layers`` layers, seeded, sdpa per packed sample; LoRA on q/k/v/o on request."""
    from transformers import AutoModelForCausalLM

    config = models.builtin_config("tiny", tok)
    config.update(dict(num_hidden_layers=n_layers, layer_types=["full_attention"] * n_layers))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        model = AutoModelForCausalLM.from_config(config, attn_implementation=attention.register())
        if lora:  # peft draws the adapters' initial weights from the global RNG: inside the fork, seeded
            from peft import get_peft_model

            model = get_peft_model(model, finetuning.Config(lora_r=4).lora_config())
    return model


def _batches(tok) -> list[dict]:
    """Two packed rows of different lengths and sample counts, then two padded batches of two widths."""
    spec = data.StreamSpec(make_mixture("default", max_side=5), finetuning.Config.grid_encoder, 1024)
    rows = list(itertools.islice(data.examples(tok, spec, 11), 9))
    packed = data.BatchCollator(DataCollatorForLanguageModeling(pad_token_id=tok.pad_token_id, padding_free=True))
    padded = data.BatchCollator(DataCollatorForLanguageModeling(pad_token_id=tok.pad_token_id))
    # Three samples first: the row's 4 offsets are as many as the model's heads, which must not tie their sizes.
    batches = [packed(rows[:3]), packed(rows[3:5]), padded(rows[5:7]), padded(rows[7:9])]
    for batch in batches:
        batch.pop(data.BatchStats.KEY)
    assert batches[0]["input_ids"].shape[1] != batches[1]["input_ids"].shape[1]
    assert batches[2]["input_ids"].shape[1] != batches[3]["input_ids"].shape[1]
    assert "attention_mask" in batches[2] and "attention_mask" in batches[3], "padded batches need rows of two lengths"
    return batches


def _loss_and_grads(model, batch) -> tuple[torch.Tensor, dict]:
    model.zero_grad()
    loss = model(**batch, use_cache=False).loss
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def test_decoder_layers_are_found_under_the_peft_wrapper():
    tok = models.load_tokenizer("tiny")
    bare = _model(tok, 3, lora=False)
    assert [type(m).__name__ for m in regional.decoder_layers(bare)] == ["Qwen2DecoderLayer"] * 3
    wrapped = _model(tok, 3, lora=True)
    layers = regional.decoder_layers(wrapped)
    assert layers == list(wrapped.get_base_model().model.layers)


def test_decoder_layers_one_line_error_without_repeated_blocks():
    with pytest.raises(ValueError, match="--compile-layers found no decoder layers in Linear"):
        regional.decoder_layers(torch.nn.Linear(2, 2))


@pytest.mark.parametrize("other", ["--torch-compile", "--gradient-checkpointing"])
def test_compile_layers_refuses_what_cannot_work_with_it_in_one_line(other, capsys):
    with pytest.raises(SystemExit) as exit_info:
        finetuning.Config.from_cli(["--output-dir", "unused", "--compile-layers", other])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "--compile-layers" in err and other in err and "\n" not in err, err


@pytest.mark.slow
def test_compiled_lora_layers_equal_eager_and_compile_once_per_layer_class():
    """LoRA (the layers under peft's wrapper): loss and every gradient as eager on packed rows and padded batches;
    rows and batches of new widths compile nothing new, and a deeper model compiles exactly as often as a shallow
    one (its layers share the code). Full fine-tuning: test_budget_training_with_compiled_layers_trains_as_eager."""
    tok = models.load_tokenizer("tiny")
    batches = _batches(tok)
    counts = {}
    # The padded batches' compile is the costly one (the whole layer in one graph): the deeper model skips them.
    for n_layers, seen in ((2, batches), (4, batches[:2])):
        torch._dynamo.reset()  # no code cached from an earlier model or test
        eager, compiled = _model(tok, n_layers, lora=True), _model(tok, n_layers, lora=True)
        regional.compile_layers(compiled, backend=BACKEND)
        per_batch = []
        with regional.CompileStats() as stats:
            for batch in seen:
                before = stats.summary()["compiles"]
                loss, grads = _loss_and_grads(compiled, batch)
                per_batch.append(stats.summary()["compiles"] - before)
                want_loss, want_grads = _loss_and_grads(eager, batch)
                torch.testing.assert_close(loss, want_loss, rtol=1e-5, atol=1e-6)
                assert grads.keys() == want_grads.keys() and grads
                for name, grad in grads.items():
                    torch.testing.assert_close(grad, want_grads[name], rtol=1e-4, atol=1e-6, msg=name)
        counts[n_layers] = per_batch[:2]
        # A row of another length and sample count, and a padded batch of another width, compile nothing; padded
        # batches (two rows, a mask) are compiled apart from packed rows (one row, no mask), once.
        assert per_batch[0] > 0 and per_batch[1] == 0, per_batch
        assert len(per_batch) == 2 or (per_batch[2] > 0 and per_batch[3] == 0), per_batch
    assert counts[2] == counts[4], counts


@pytest.mark.slow
def test_budget_training_with_compiled_layers_trains_as_eager(tmp_path, monkeypatch):
    """finetuning.py with --token-budget: the same losses and gradient norms with and without --compile-layers, and
    once the first step has compiled, later steps' rows of new lengths compile nothing."""
    run = dict(TINY_RUN, max_steps=3, per_device_train_batch_size=1, batch_size=4, eval_steps=0, max_side=6,
               max_seq_len=1024)
    finetuning.main(finetuning.Config(output_dir=str(tmp_path / "eager"), token_budget=1024, **run))
    monkeypatch.setattr(regional, "BACKEND", BACKEND)
    torch._dynamo.reset()
    metrics = finetuning.main(finetuning.Config(output_dir=str(tmp_path / "compiled"), token_budget=1024,
                                                compile_layers=True, **run))
    assert metrics["global_step"] == 3 and math.isfinite(metrics["train_loss"])

    def steps(name):
        lines = (tmp_path / name / "log_history.jsonl").read_text().splitlines()
        return [(e["loss"], e["grad_norm"]) for e in map(json.loads, lines) if "loss" in e]

    eager, compiled = steps("eager"), steps("compiled")
    assert len(compiled) == 3
    for (loss, norm), (want_loss, want_norm) in zip(compiled, eager):
        assert loss == pytest.approx(want_loss, rel=1e-4) and norm == pytest.approx(want_norm, rel=1e-3)
    stats = json.loads((tmp_path / "compiled" / "compile.json").read_text())
    assert stats["first_step_compiles"] > 0 and stats["later_step_compiles"] == 0, stats
    assert stats["outside_step_compiles"] == 0, stats


@pytest.mark.parametrize("flags, message", [
    (["--compile-layers", "--warmup-steps", "0"], "--compile-layers needs --warmup-steps >= 1"),
    (["--compile-layers", "--compile-backend", "eager"], "--compile-backend 'eager': must be one of inductor"),
])
def test_benchmark_compile_flags_are_one_line_errors(flags, message, capsys):
    from arc25.commands.benchmark_step_overhead import cli

    with pytest.raises(SystemExit) as exit_info:
        cli(flags)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err, err
