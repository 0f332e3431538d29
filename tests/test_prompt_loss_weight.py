"""--prompt-loss-weight: prompt tokens weighed below program tokens, from the stream's labels to the trainer's loss."""

import dataclasses
import itertools
import json
import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

import finetuning
from arc25 import models
from arc25.tasks import make_mixture
from arc25.train import data

ENCODER = finetuning.Config.grid_encoder


def _examples(n: int) -> list[dict]:
    tok = models.load_tokenizer("tiny")
    spec = data.StreamSpec(make_mixture("default", max_side=4), ENCODER, 1024)
    return list(itertools.islice(data.examples(tok, spec, seed=5), n))


def test_prompt_tokens_carry_the_weight_and_program_tokens_one():
    (ex,) = _examples(1)
    weighted = data.prompt_in_loss(ex, 0.25)
    assert weighted["labels"] == ex["input_ids"]
    prompt = [label == -100 for label in ex["labels"]]
    assert 0 < sum(prompt) < len(prompt)
    assert weighted["loss_weights"] == [0.25 if p else 1.0 for p in prompt]
    assert "loss_weights" not in data.prompt_in_loss(ex, 1.0), "weight 1 is trl's own loss: nothing to carry"


def test_the_training_stream_weighs_only_with_the_prompt_in_the_loss():
    tok = models.load_tokenizer("tiny")
    spec = data.StreamSpec(make_mixture("default", max_side=4), ENCODER, 1024, completion_only_loss=False,
                           prompt_loss_weight=0.5)
    (ex,) = itertools.islice(data._shard_generator([3], tok, spec), 1)
    assert ex["labels"] == ex["input_ids"] and set(ex["loss_weights"]) == {0.5, 1.0}
    (valid,) = data.eval_dataset(tok, spec, 3, 1)
    assert "loss_weights" not in valid, "validation scores the program alone, unweighted"


@pytest.mark.parametrize("padding_free", [False, True])
def test_collated_weights_line_up_with_labels_and_padding_weighs_nothing(padding_free):
    tok = models.load_tokenizer("tiny")
    rows = [data.prompt_in_loss(ex, 0.25) for ex in _examples(3)]
    assert len({len(r["input_ids"]) for r in rows}) > 1, "the padded case needs rows of different lengths"
    collate = data.BatchCollator(DataCollatorForLanguageModeling(pad_token_id=tok.pad_token_id,
                                                                 padding_free=padding_free, pad_to_multiple_of=64))
    batch = collate(rows)
    weights = batch["loss_weights"]
    assert weights.shape == batch["input_ids"].shape
    real = sum(len(r["input_ids"]) for r in rows)
    expected = [w for r in rows for w in r["loss_weights"]]
    if padding_free:
        assert weights[0, :real].tolist() == expected and not weights[0, real:].any()
    else:
        for i, r in enumerate(rows):
            n = len(r["input_ids"])
            assert weights[i, :n].tolist() == r["loss_weights"] and not weights[i, n:].any()
    assert ((weights == 0.25) | (weights == 1.0) | (weights == 0)).all()


def _trainer(tmp_path):
    import datasets
    from trl import SFTConfig

    from arc25.train.trainer import ArcTrainer, step_arguments

    tok = models.load_tokenizer("tiny")
    model = models.load_model("tiny", tok, seed=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        args = SFTConfig(output_dir=str(tmp_path), max_steps=1, per_device_train_batch_size=2, report_to=[],
                         use_cpu=True, bf16=False, gradient_checkpointing=False, save_strategy="no",
                         dataset_kwargs={"skip_prepare_dataset": True}, remove_unused_columns=False, max_length=None,
                         **step_arguments(cuda=False))
    rows = datasets.Dataset.from_list([{"input_ids": [1, 2], "labels": [1, 2]}]).to_iterable_dataset()
    collate = data.BatchCollator(DataCollatorForLanguageModeling(pad_token_id=tok.pad_token_id))
    return ArcTrainer(model=model, args=args, train_dataset=rows, processing_class=tok, data_collator=collate), collate


def test_the_loss_is_the_weighted_mean_of_token_losses(tmp_path):
    trainer, collate = _trainer(tmp_path)
    model = trainer.model
    rows = [data.prompt_in_loss(ex, 0.25) for ex in _examples(2)]
    batch = collate(rows)
    batch.pop(data.BatchStats.KEY)
    weighted = trainer.compute_loss(model, dict(batch))

    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False).logits
    labels = batch["labels"][:, 1:]
    nll = F.cross_entropy(logits[:, :-1].flatten(0, 1), labels.flatten(), ignore_index=-100, reduction="none")
    w = batch["loss_weights"][:, 1:].flatten() * (labels.flatten() != -100)
    torch.testing.assert_close(weighted, (nll * w).sum() / w.sum(), rtol=1e-5, atol=1e-6)

    # Weights of 1 everywhere give back the unweighted loss, which is trl's (tests/test_step_overhead.py).
    plain = {k: v for k, v in batch.items() if k != "loss_weights"}
    ones = dict(plain, loss_weights=torch.ones_like(batch["loss_weights"]))
    torch.testing.assert_close(trainer.compute_loss(model, ones), trainer.compute_loss(model, dict(plain)))
    # A lighter prompt moves the loss toward the program's own mean, which differs from the prompt's.
    program = (nll * (batch["loss_weights"][:, 1:].flatten() == 1)).sum() / (batch["loss_weights"][:, 1:] == 1).sum()
    unweighted = trainer.compute_loss(model, dict(plain))
    assert abs(weighted - program) < abs(unweighted - program)


@pytest.mark.parametrize("args, message", [
    (["--prompt-loss-weight", "0"], "accepted (0, 1]"),
    (["--prompt-loss-weight", "1.5"], "accepted (0, 1]"),
    (["--prompt-loss-weight", "0.5", "--completion-only-loss", "True"], "drop one of the two"),
])
def test_bad_prompt_loss_weight_is_one_line(args, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        finetuning.Config.from_cli(["--no-log-to-wandb", *args])
    text = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in text and text.count("\n") == 1


def test_a_pretrained_default_that_leaves_the_prompt_out_is_refused_before_weights_load(tmp_path, monkeypatch):
    def no_model(*_args, **_kwargs):
        raise AssertionError("the model loaded before the error")

    monkeypatch.setattr(models, "load_model", no_model)
    # tiny as if it were pretrained: its default is then the program's loss alone.
    monkeypatch.setattr("arc25.models.loading.TRAINED_FROM_SCRATCH", frozenset())
    cfg = finetuning.Config(output_dir=str(tmp_path / "out"), max_steps=1, log_to_wandb=False, prompt_loss_weight=0.5)
    with pytest.raises(ValueError, match="--no-completion-only-loss"):
        finetuning.prepare(cfg)


@pytest.mark.slow
def test_a_packed_run_trains_with_a_light_prompt(tmp_path):
    run = dict(max_side=5, max_seq_len=1024, max_steps=3, batch_size=4, per_device_train_batch_size=1,
               log_to_wandb=False, eval_steps=0, dataloader_num_workers=0, save_steps=100, token_budget=2048)
    light = finetuning.main(finetuning.Config(output_dir=str(tmp_path / "light"), prompt_loss_weight=0.25, **run))
    same = finetuning.main(finetuning.Config(output_dir=str(tmp_path / "same"), **run))
    assert light["global_step"] == same["global_step"] == 3
    assert math.isfinite(light["train_loss"]) and light["train_loss"] != same["train_loss"]
    assert json.loads((tmp_path / "light" / "cfg.json").read_text())["prompt_loss_weight"] == 0.25
    assert dataclasses.asdict(finetuning.Config(output_dir="x"))["prompt_loss_weight"] == 1.0
