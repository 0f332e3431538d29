"""arc25.models.loading: one set of rules for models, tokenizers and adapters, whichever command loads them."""

import shutil

import pytest

import finetuning
from arc25 import models
from arc25.models import loading
from arc25.commands import test_time_her


def _save(folder, seed: int, **info):
    """A tiny model saved as finetuning.py saves one (weights, tokenizer, arc25_training.json)."""
    tok = models.load_tokenizer("tiny")
    models.load_model("tiny", tok, seed=seed).save_pretrained(str(folder))
    tok.save_pretrained(str(folder))
    if info:
        loading.write_training_info(folder, **info)
    return tok


def _adapter_on(base, out, tok):
    from peft import LoraConfig, get_peft_model

    plan = loading.prepare(str(base))
    get_peft_model(loading.load_model(plan), LoraConfig(r=2, target_modules=["q_proj"])).save_pretrained(str(out))
    loading.write_training_info(out, **plan.training_info(prompt_style="compact", grid_encoder="x"))


def test_an_adapter_is_refused_on_other_weights_in_a_folder_of_the_same_name(tmp_path):
    """Every run saves <output-dir>/final: the base is recognised by its weights, not by the folder's name."""
    a, b = tmp_path / "a" / "final", tmp_path / "b" / "final"
    tok = _save(a, seed=1)
    _save(b, seed=2)
    adapter = tmp_path / "adapter"
    _adapter_on(a, adapter, tok)
    loading.check_adapter(str(a), tok, str(adapter))
    with pytest.raises(ValueError, match="was trained on base .* not --model-path .*b/final.* weights differ"):
        loading.check_adapter(str(b), tok, str(adapter))
    # The same weights moved elsewhere are still the same base.
    moved = tmp_path / "moved" / "final"
    shutil.copytree(a, moved)
    loading.check_adapter(str(moved), tok, str(adapter))


def test_fingerprint_follows_the_weights_not_the_path(tmp_path):
    _save(tmp_path / "x", seed=1)
    _save(tmp_path / "y", seed=1)
    _save(tmp_path / "z", seed=2)
    (tmp_path / "y" / "training_args.bin").write_bytes(b"another run's folders")  # not weights
    assert loading.fingerprint(str(tmp_path / "x")) == loading.fingerprint(str(tmp_path / "y"))
    assert loading.fingerprint(str(tmp_path / "x")) != loading.fingerprint(str(tmp_path / "z"))


def test_lineage_decides_tokenizer_and_full_training_through_generations(tmp_path):
    first = tmp_path / "small" / "final"
    _save(first, seed=1, **loading.training_info("tiny", seed=1, prompt_style="compact", grid_encoder="x"))
    second = tmp_path / "again" / "final"
    # A model trained from the first folder records the first folder as its base, and tiny as its lineage.
    _save(second, seed=2, **loading.training_info(str(first), seed=7, prompt_style="compact", grid_encoder="x"))
    assert loading.lineage(str(second)) == "tiny"
    plan = loading.prepare(str(second), training=True)
    assert plan.from_scratch and not plan.use_lora and plan.dtype == "float32"
    assert plan.training_mode() == "full (from-scratch lineage: tiny)"
    assert plan.tokenizer.get_vocab() == models.builtin_tokenizer().get_vocab()
    pretrained = tmp_path / "pretrained"
    _save(pretrained, seed=3)
    plan = loading.prepare(str(pretrained), training=True)
    assert loading.lineage(str(pretrained)) is None and plan.new_adapter and not plan.from_scratch
    assert plan.training_mode() == "LoRA (pretrained weights)"


@pytest.mark.parametrize("use_lora, mode", [(True, "LoRA (--use-lora)"), (False, "full (--no-use-lora)")])
def test_an_explicit_use_lora_is_obeyed_whatever_the_lineage(tmp_path, use_lora, mode):
    """--use-lora on a model trained from scratch trains an adapter; --no-use-lora on pretrained weights, in full."""
    trained = tmp_path / "small" / "final"
    _save(trained, seed=1, **loading.training_info("tiny", seed=1, prompt_style="compact", grid_encoder="x"))
    pretrained = tmp_path / "pretrained"
    _save(pretrained, seed=3)
    for path in ("tiny", str(trained), str(pretrained)):
        plan = loading.prepare(path, training=True, use_lora=use_lora)
        assert plan.use_lora is use_lora and plan.new_adapter is use_lora and plan.training_mode() == mode, path
    assert loading.prepare("tiny", training=True, use_lora=True).dtype == "float32"  # no GPU: no bf16 weights


def test_mixed_precision_resolves_per_device(monkeypatch):
    """auto autocasts on a bf16 GPU only; bf16 is obeyed on CPU; a GPU without bfloat16 refuses it in one line."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert [loading.autocast_bf16(choice, cuda=True) for choice in ("auto", "bf16", "fp32")] == [True, True, False]
    assert [loading.autocast_bf16(choice, cuda=False) for choice in ("auto", "bf16", "fp32")] == [False, True, False]
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a, **k: "Tesla V100")
    assert loading.autocast_bf16("auto", cuda=True) is False
    with pytest.raises(ValueError, match=r"^--mixed-precision bf16: Tesla V100 has no bfloat16; use auto or fp32$"):
        loading.autocast_bf16("bf16", cuda=True)


def test_no_use_lora_with_an_adapter_is_refused_in_one_line(tmp_path):
    tok = models.load_tokenizer("tiny")
    adapter = tmp_path / "adapter"
    _adapter_on("tiny", adapter, tok)
    assert loading.prepare("tiny", str(adapter), training=True).training_mode() == "LoRA (continues --adapter-path)"
    with pytest.raises(ValueError, match=r"^--no-use-lora asks for full training, but --adapter-path .* continues"):
        loading.prepare("tiny", str(adapter), training=True, use_lora=False)


@pytest.mark.parametrize("flags, expected", [([], None), (["--use-lora"], True), (["--no-use-lora"], False)])
def test_use_lora_is_unset_unless_given(flags, expected):
    assert finetuning.Config.from_cli(["--output-dir", "runs/x", *flags]).use_lora is expected


def test_finetuning_and_her_treat_a_folder_trained_from_scratch_alike(tmp_path):
    """`finetuning.py --model-path runs/small/final`: full training at the from-scratch rate, as HER trains it."""
    folder = tmp_path / "small" / "final"
    _save(folder, seed=1, **loading.training_info("tiny", seed=1, prompt_style="compact",
                                                   grid_encoder=finetuning.Config.grid_encoder))
    run = finetuning.prepare(finetuning.Config(output_dir=str(tmp_path / "ft"), model_path=str(folder), max_steps=2,
                                               max_side=5, max_seq_len=1024, log_to_wandb=False, eval_steps=0))
    assert not run.model.use_lora and run.lr == 1e-3 and run.spec.completion_only_loss is False
    her = test_time_her.prepare(test_time_her.Config(task_set="squares:2", n=1, output_dir=str(tmp_path / "her"),
                                                     log_to_wandb=False, model_path=str(folder)))
    assert her.resolved["use_lora"] is False and her.resolved["trainable_parameters"] == \
        her.resolved["total_parameters"]


def test_finetuning_says_its_resolved_defaults_in_one_line(tmp_path, caplog):
    """What the machine and the model decided (optimizer, liger, grouping, dtype, LoRA or full, attention)."""
    folder = tmp_path / "small" / "final"
    _save(folder, seed=1, **loading.training_info("tiny", seed=1, prompt_style="compact",
                                                   grid_encoder=finetuning.Config.grid_encoder))
    cfg = finetuning.Config(output_dir=str(tmp_path / "ft"), model_path=str(folder), max_steps=2, max_side=5,
                            max_seq_len=1024, log_to_wandb=False, eval_steps=0, use_lora=True, packing=True)
    with caplog.at_level("INFO", logger="arc25.finetuning"):
        run = finetuning.prepare(cfg)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("resolved: ")]
    assert len(lines) == 1 and "\n" not in lines[0]
    assert lines[0] == (f"resolved: optim={cfg.optim} liger=off group_by_length_window={cfg.group_by_length_window} "
                        f"dtype=float32 bf16_autocast=off training=LoRA (--use-lora) attention=sdpa_varlen "
                        f"schedule=cosine over 2 steps")
    # The explicit flag is obeyed on a from-scratch lineage: an adapter, at the adapter's learning rate.
    assert run.model.use_lora and run.lr == 1e-4


def test_a_merged_adapter_keeps_its_lineage(tmp_path):
    tok = models.load_tokenizer("tiny")
    adapter = tmp_path / "adapter"
    _adapter_on("tiny", adapter, tok)
    merged = loading.merge_adapter("tiny", str(adapter), str(tmp_path / "merged"), dtype="float32")
    assert loading.lineage(str(merged)) == "tiny"
    assert "base_fingerprint" not in loading.read_training_info(merged)


def test_the_random_init_builtins_train_in_full_and_mini_sits_between_tiny_and_small():
    sizes = {}
    for name in ("tiny", "mini", "small"):
        plan = loading.prepare(name, training=True)
        assert plan.from_scratch and not plan.use_lora and plan.training_mode() == f"full (from-scratch lineage: {name})"
        sizes[name] = sum(p.numel() for p in loading.load_model(plan).parameters())
    assert sizes["tiny"] < sizes["mini"] < sizes["small"], sizes


def test_trained_grid_encoder_follows_the_model_unless_given(tmp_path):
    from arc25.cli.args import TrainedPromptArgs
    from arc25.prompts.encoders import DEFAULT_ENCODER_SPEC

    boxes = "ChangeBoxesEncoder(GridShapeEncoder(RowNumberEncoder(MinimalGridEncoder())))"
    model, adapter = tmp_path / "model", tmp_path / "adapter"
    loading.write_training_info(model, grid_encoder=boxes)
    unset, given = TrainedPromptArgs(), TrainedPromptArgs(grid_encoder="MinimalGridEncoder()")
    assert unset.trained_grid_encoder(str(model)) == boxes
    assert given.trained_grid_encoder(str(model)) == "MinimalGridEncoder()"
    # An adapter's own record comes first; a builtin or a folder trained elsewhere gets training's default.
    loading.write_training_info(adapter, grid_encoder="GridShapeEncoder(MinimalGridEncoder())")
    assert unset.trained_grid_encoder(str(model), str(adapter)) == "GridShapeEncoder(MinimalGridEncoder())"
    assert unset.trained_grid_encoder("tiny") == DEFAULT_ENCODER_SPEC
    assert unset.trained_grid_encoder(str(tmp_path / "elsewhere")) == DEFAULT_ENCODER_SPEC
