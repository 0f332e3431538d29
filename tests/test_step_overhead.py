"""The step probe counts what it claims, the benchmark reports it, and the sync-free trainer trains exactly as trl's."""

import itertools
import json
import math
import warnings

import pytest
import torch

from arc25 import models
from arc25.train import data
from arc25.train.step_probe import StepProbe


def test_probe_counts_one_scalar_read_per_step():
    x = torch.randn(8, 8, generator=torch.Generator().manual_seed(0))
    with StepProbe() as probe:
        for _ in range(3):
            (x @ x).sum().item()
    summary = probe.summary(micro_batches=3)
    assert summary["syncs_per_micro_batch"] == 1
    assert summary["syncs_by_op"] == {"_local_scalar_dense": 1}
    assert summary["ops_per_micro_batch"] == 3  # mm, sum, the read

    with StepProbe() as quiet:
        for _ in range(3):
            (x @ x).sum()
    assert quiet.summary(micro_batches=3)["syncs_per_micro_batch"] == 0


def test_probe_counts_boolean_indexing_and_keeps_optimizer_reads_apart():
    w = torch.nn.Parameter(torch.randn(4, 4, generator=torch.Generator().manual_seed(0)))
    optimizer = torch.optim.AdamW([w], lr=0.1, foreach=False)
    with StepProbe() as probe:
        y = w[w > 0].sum()
        y.backward()
        optimizer.step()
    # The read forward, and its gradient's scatter backward; AdamW's host-side step counter is not the step's own.
    assert probe.syncs == {"index(bool mask)": 1, "index_put(bool mask)": 1}, probe.syncs
    assert sum(probe.optimizer_syncs.values()) >= 1


def test_probe_sees_a_dense_mask_and_the_logits():
    tok = models.load_tokenizer("tiny")
    model = models.load_model("tiny", tok, seed=0)
    ids = torch.randint(3, 100, (2, 12), generator=torch.Generator().manual_seed(0))
    padded = torch.ones_like(ids)
    padded[1, 8:] = 0
    with torch.no_grad():
        with StepProbe.for_model(model) as unpadded:
            model(input_ids=ids, use_cache=True)
        with StepProbe.for_model(model) as masked:
            model(input_ids=ids, attention_mask=padded, use_cache=True)
    assert unpadded.dense_tt == {}
    assert sum(masked.dense_tt.values()) > 0  # sdpa gets a B x 1 x T x T mask once a row is padded
    assert unpadded.vocab_wide and unpadded.vocab_wide_max_numel == 2 * 12 * len(tok)  # the logits


@pytest.mark.slow
def test_benchmark_reports_its_keys_and_a_sync_free_trainer(capsys):
    from arc25.commands.benchmark_step_overhead import cli

    cli(["--modes", "lora", "--n-layers", "2", "--batch-size", "2", "--steps", "1", "--warmup-steps", "1",
         "--repeats", "1", "--max-side", "4"])
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"probe", "steps", "repeats", "modes"}
    lora = result["modes"]["lora"]
    assert {"trainer_over_plain", "ratios", "trainer", "plain"} <= set(lora)
    keys = {"host_ms_per_step", "ops_per_micro_batch", "syncs_per_micro_batch", "syncs_by_op", "sync_sites",
            "optimizer_syncs_per_micro_batch", "vocab_wide_tensors", "dense_tt_tensors", "micro_batches"}
    for path in ("trainer", "plain"):
        assert keys <= set(lora[path]), sorted(keys - set(lora[path]))
        assert lora[path]["host_ms_per_step"] > 0 and lora[path]["ops_per_micro_batch"] > 100
    # The goal: between logging steps our trainer reads nothing back but the optimizer's step counters.
    assert lora["trainer"]["syncs_per_micro_batch"] == 0, lora["trainer"]["sync_sites"]
    assert lora["trainer"]["dense_tt_tensors"] == 0


def _rows(n: int) -> list[dict]:
    import finetuning
    from arc25.tasks import make_mixture

    tok = models.load_tokenizer("tiny")
    spec = data.StreamSpec(make_mixture("default", max_side=4), finetuning.Config.grid_encoder, 1024)
    return list(itertools.islice(data.examples(tok, spec, seed=5), n))


def _train(tmp_path, name: str, ours: bool, per_device: int, rows: list[dict]):
    import datasets
    from trl import SFTConfig, SFTTrainer
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    from arc25.train import trainer as arc_trainer

    tok = models.load_tokenizer("tiny")
    model = models.load_model("tiny", tok, seed=7)
    base = DataCollatorForLanguageModeling(pad_token_id=tok.pad_token_id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the old checkpointing flag's rename notice
        args = SFTConfig(
            output_dir=str(tmp_path / name), max_steps=3, per_device_train_batch_size=per_device,
            gradient_accumulation_steps=4 // per_device, learning_rate=1e-3, lr_scheduler_type="constant",
            logging_steps=1, save_strategy="no", report_to=[], use_cpu=True, bf16=False, gradient_checkpointing=False,
            dataset_kwargs={"skip_prepare_dataset": True}, remove_unused_columns=False, max_length=None, seed=1,
            dataloader_num_workers=0, disable_tqdm=True,
            **(arc_trainer.step_arguments(cuda=False) if ours else {}),
        )
    dataset = datasets.Dataset.from_list(rows).to_iterable_dataset()
    if ours:
        trainer = arc_trainer.ArcTrainer(model=model, args=args, train_dataset=dataset, processing_class=tok,
                                         data_collator=data.BatchCollator(base))
    else:
        trl_rows = datasets.Dataset.from_list([{"input_ids": r["input_ids"], "labels": r["labels"]} for r in rows])
        trainer = SFTTrainer(model=model, args=args, train_dataset=trl_rows.to_iterable_dataset(),
                             processing_class=tok, data_collator=base)
    trainer.train()
    logs = [entry for entry in trainer.state.log_history if "loss" in entry]
    return logs, {name: p.detach().clone() for name, p in model.named_parameters()}


@pytest.mark.slow
@pytest.mark.parametrize("per_device", [1, 2])
def test_sync_free_trainer_trains_exactly_as_trl(tmp_path, per_device):
    """Loss, gradient norm and the updated weights of ArcTrainer with our step settings equal trl's own trainer's."""
    rows = _rows(12)
    assert len({len(r["input_ids"]) for r in rows[:2]}) == 2, "the padded case needs rows of different lengths"
    theirs, their_weights = _train(tmp_path, "trl", False, per_device, rows)
    ours, our_weights = _train(tmp_path, "ours", True, per_device, rows)
    assert len(ours) == len(theirs) == 3
    for a, b in zip(ours, theirs):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5)
        assert a["grad_norm"] == pytest.approx(b["grad_norm"], rel=1e-4)
        assert a["num_tokens"] == b["num_tokens"]
        # Token-weighted over the logging window (trl averages per micro-batch): the same up to that weighting.
        assert a["mean_token_accuracy"] == pytest.approx(b["mean_token_accuracy"], abs=0.05)
        assert math.isfinite(a["entropy"]) and a["entropy"] == pytest.approx(b["entropy"], rel=0.05)
    for name, weight in our_weights.items():
        torch.testing.assert_close(weight, their_weights[name], rtol=1e-5, atol=1e-6, msg=name)


class _FakeEvent:
    """A CUDA event on a scripted device timeline: recorded at the clock's current time."""

    clock_ms = 0.0
    waits = 0

    def __init__(self):
        self.at = _FakeEvent.clock_ms

    def synchronize(self):
        _FakeEvent.waits += 1

    def elapsed_time(self, end) -> float:
        return end.at - self.at


def test_throughput_on_cuda_times_steps_by_events_read_only_at_logs(monkeypatch):
    from types import SimpleNamespace

    from arc25.train.metrics import ThroughputCallback

    cb = ThroughputCallback(skip_first_steps=0)
    monkeypatch.setattr(cb, "_event", lambda: _FakeEvent())
    cb._cuda = "cuda:0"  # what on_train_begin finds on a GPU
    _FakeEvent.clock_ms, _FakeEvent.waits = 0.0, 0
    cb._restart()
    state = control = SimpleNamespace()
    stats = SimpleNamespace(n_samples=2, real_tokens=100, padded_tokens=120, label_tokens=30, sum_sq_len=5000)
    for step_ms, between_ms in ((200.0, 0.0), (300.0, 5000.0), (250.0, 0.0)):
        cb.observe_fetch(0.0, 0.0)
        cb.observe_batch(stats)
        _FakeEvent.clock_ms += step_ms
        cb.on_step_end(None, state, control)
        if between_ms:  # an evaluation after the step: not the next step's time
            _FakeEvent.clock_ms += between_ms
            cb.on_evaluate(None, state, control)
    assert _FakeEvent.waits == 0  # nothing read back between logging steps
    logs = cb.pending_logs()
    assert _FakeEvent.waits == 1
    assert cb._all.steps == 3 and cb._all.seconds == pytest.approx(0.75)
    assert logs["samples_per_s"] == pytest.approx(6 / 0.75)


def test_lora_without_input_casts_is_the_same_under_autocast_with_fewer_ops():
    import contextlib

    from peft import LoraConfig, get_peft_model

    from arc25.train.step_probe import StepProbe
    from arc25.train.trainer import lora_cast_layers, lora_input_casts_off

    tok = models.load_tokenizer("tiny")
    ids = torch.randint(3, 100, (1, 16), generator=torch.Generator().manual_seed(0))
    results = []
    for skip in (False, True):
        model = models.load_model("tiny", tok, dtype="bfloat16", seed=0)
        config = LoraConfig(r=4, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], init_lora_weights="gaussian")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(1)  # peft draws the adapters' initial weights from torch's global generator
            model = get_peft_model(model, config)  # adapters upcast to fp32, as in a bf16 LoRA run
        layers = lora_cast_layers(model)
        assert len(layers) == 16  # q, k, v, o in each of tiny's 4 layers
        casts_off = lora_input_casts_off(layers) if skip else contextlib.nullcontext()
        with StepProbe() as probe, torch.autocast("cpu", dtype=torch.bfloat16), casts_off:
            loss = model(input_ids=ids, labels=ids, use_cache=False).loss
        loss.backward()
        assert all(layer.cast_input_dtype_enabled for layer in layers)  # back on for forwards outside autocast
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
        results.append((loss.detach(), grads, sum(probe.ops.values())))
    (loss_a, grads_a, ops_a), (loss_b, grads_b, ops_b) = results
    assert torch.equal(loss_a, loss_b)
    assert grads_a.keys() == grads_b.keys() and all(torch.equal(grads_a[n], grads_b[n]) for n in grads_a)
    assert ops_b < ops_a
