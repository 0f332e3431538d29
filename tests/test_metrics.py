"""Throughput metrics: the callback's figures in a real run, the FLOPs model, the GPU peak table."""

import json
import time
from types import SimpleNamespace

import pytest

import finetuning
from arc25 import models
from arc25.train import metrics
from arc25.train.data import BatchStats


@pytest.mark.slow
def test_short_run_logs_sane_throughput(tmp_path):
    cfg = finetuning.Config(
        output_dir=str(tmp_path), max_side=5, max_seq_len=1024, max_steps=3, batch_size=2,
        per_device_train_batch_size=2, log_to_wandb=False, eval_steps=0, dataloader_num_workers=0,
        save_steps=3, logging_steps=1, peak_tflops=1.0, completion_only_loss=True,
    )
    finetuning.main(cfg)
    summary = json.loads((tmp_path / "throughput.json").read_text())
    assert 0 <= summary["padding_fraction"] <= 1
    assert 0 <= summary["data_wait_fraction"] <= 1
    assert summary["real_tokens_per_s"] > 0 and summary["samples_per_s"] > 0
    assert summary["peak_memory_gib"] is None and summary["device"] == "cpu"  # no CUDA here
    assert 0 < summary["mfu"] < 1  # --peak-tflops 1 stands in for a GPU's peak
    assert summary["steps_measured"] == 2 and summary["steps_skipped"] == 1
    assert summary["totals"]["samples"] == 4 and summary["tokens_per_sample"] > summary["label_tokens_per_sample"] > 0
    # Every training log carries the figures, so W&B / tensorboard see them too.
    state = json.loads((tmp_path / "checkpoint-3" / "trainer_state.json").read_text())
    train_logs = [entry for entry in state["log_history"] if "loss" in entry]
    assert len(train_logs) == 3
    for entry in train_logs:
        assert entry["samples_per_s"] > 0 and entry["real_tokens_per_s"] > 0 and 0 <= entry["padding_fraction"] <= 1
        assert "peak_memory_gib" not in entry  # None figures are left out of logs


def test_callback_arithmetic_without_a_trainer(tmp_path):
    cb = metrics.ThroughputCallback(peak_tflops=2.0, skip_first_steps=0)
    args = SimpleNamespace(world_size=2, device=None, output_dir=str(tmp_path))
    cb.on_train_begin(args, None, None)
    cb.flops = metrics.FlopsModel(n_frozen=0, n_trainable=1000)
    started = time.perf_counter()
    cb.observe_fetch(started - 0.5, 0.1)  # this step began half a second ago and waited 0.1 s for data
    cb.observe_batch(BatchStats(codes=("c",) * 4, generators=("g",) * 4, n_draws=(1,) * 4, skipped=0, real_tokens=300,
                                padded_tokens=400, label_tokens=40, sum_sq_len=0))
    cb.on_step_end(args, None, None)
    logs = cb.pending_logs()
    assert logs["padding_fraction"] == pytest.approx(0.25)
    assert logs["data_wait_fraction"] == pytest.approx(0.2, abs=0.05)
    assert logs["samples_per_s"] == pytest.approx(2 * 4 / 0.5, rel=0.1)  # two ranks
    assert cb.pending_logs() == {}  # the window restarts after each log
    cb.on_train_end(args, SimpleNamespace(is_world_process_zero=True), None)
    summary = json.loads((tmp_path / metrics.SUMMARY_FILE).read_text())
    assert summary["mfu"] == pytest.approx(6000 * 300 / 0.5 / 2e12, rel=0.1)
    assert summary["samples_seen"] == 2 * 4  # both ranks' samples, what the ladder reports as read


def test_flops_model_counts_full_and_lora_training():
    from peft import LoraConfig, get_peft_model

    tok = models.load_tokenizer("tiny")
    model = models.load_model("tiny", tok, seed=0)
    full = metrics.FlopsModel.from_model(model)
    cfg = model.config
    # Every Linear layer: 4 attention projections and 3 MLP matrices per layer, plus the (tied) LM head.
    kv = cfg.num_key_value_heads * cfg.hidden_size // cfg.num_attention_heads
    per_layer = 2 * cfg.hidden_size**2 + 2 * cfg.hidden_size * kv + 3 * cfg.hidden_size * cfg.intermediate_size
    n = cfg.num_hidden_layers * per_layer + cfg.vocab_size * cfg.hidden_size
    assert (full.n_frozen, full.n_trainable) == (0, n) and full.per_token == 6 * n
    assert (full.n_layers, full.d_attn) == (cfg.num_hidden_layers, cfg.hidden_size)
    lora = metrics.FlopsModel.from_model(get_peft_model(model, LoraConfig(
        r=8, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], task_type="CAUSAL_LM")))
    adapters = cfg.num_hidden_layers * 8 * (4 * cfg.hidden_size + 2 * cfg.hidden_size + 2 * kv)
    assert (lora.n_frozen, lora.n_trainable) == (n, adapters)
    assert lora.per_token == 4 * n + 6 * adapters
    assert lora.step_flops(100, 10_000) == lora.per_token * 100 + 6 * cfg.num_hidden_layers * cfg.hidden_size * 10_000


@pytest.mark.parametrize("name, tflops", [
    ("NVIDIA H100 80GB HBM3", 989.4), ("NVIDIA H100 PCIe", 756.0), ("NVIDIA H200", 989.4),
    ("NVIDIA A100-SXM4-80GB", 312.0), ("NVIDIA GeForce RTX 3090", 71.0), ("NVIDIA L40S", 362.0),
    ("NVIDIA L4", 121.0), ("Some Future GPU", None), (None, None),
])
def test_peak_tflops_lookup(name, tflops):
    assert metrics.peak_tflops_for(name) == tflops


def _profile_steps(profiler, steps: int, first_step: int = 1) -> None:
    import torch

    a = torch.randn(64, 64)
    state = SimpleNamespace(is_world_process_zero=True, global_step=0)
    for step in range(first_step, first_step + steps):
        for _ in range(3):
            a = torch.tanh(a @ a)
        float(a.sum())  # one scalar read per step
        state.global_step = step
        profiler.on_step_end(None, state, None)


def test_step_profiler_records_the_steps_after_skip_and_warm_up(tmp_path):
    from arc25.train.profiling import StepProfiler

    profiler = StepProfiler(tmp_path, n_steps=2, skip_steps=1)
    _profile_steps(profiler, 6)  # step 1 starts it, 2 warms up, 3-4 are recorded, 5-6 run unprofiled
    summary = json.loads((tmp_path / "profile" / "summary.json").read_text())
    assert summary == profiler.summary and summary["steps_profiled"] == 2 and summary["step_wall_ms"] > 0
    mm = next(op for op in summary["top_host_ops"] if op["name"] == "aten::mm")
    assert mm["calls_per_step"] == 3
    assert summary["scalar_reads_per_step"] >= 1
    assert summary["device_busy_fraction"] is None and summary["kernels_per_step"] == 0  # no GPU here
    assert "aten::mm" in (tmp_path / "profile" / "ops.txt").read_text()
    assert json.loads((tmp_path / "profile" / "trace.json").read_text())["traceEvents"]


def test_step_profiler_writes_what_it_has_when_training_ends_early(tmp_path):
    from arc25.train.profiling import StepProfiler

    profiler = StepProfiler(tmp_path, n_steps=5, skip_steps=0)
    _profile_steps(profiler, 3)
    assert profiler.summary is None
    profiler.on_train_end(None, None, None)
    assert json.loads((tmp_path / "profile" / "summary.json").read_text())["steps_profiled"] == 1


def test_profile_steps_must_fit_in_max_steps():
    with pytest.raises(ValueError, match=r"--profile-steps 3 needs --max-steps >= 5"):
        finetuning.Config(output_dir="x", max_steps=4, throughput_skip_steps=1, profile_steps=3)
