"""Training throughput metrics: samples/s, real tokens/s, padding, data wait, peak GPU memory and MFU.

Everything is measured on this rank, per optimizer step, and evaluation and checkpoint saves are left out:

- step time: from the moment the trainer starts fetching a step's micro-batches to the end of its
  optimizer step. On CUDA it is read off CUDA events on the device's own timeline (from the end of the previous
  step, or of the log, evaluation or save after it, to the end of this step's kernels), so a step owns the
  kernels it queued without the host waiting for them: the events are read at logging steps and at the end.
- data wait fraction: seconds blocked in ``next(dataloader)`` / step time.
- real tokens: tokens that are not padding (the attention mask's ones; with --packing every token is real).
- padding fraction: 1 - real tokens / tokens the model ran over (rows x padded width, summed).
- samples/s and real tokens/s are for the whole launch: this rank's rate x world size (DDP ranks step in
  lock-step with the same per-device batch, so only token counts differ between ranks, at random).
- peak memory: ``torch.cuda.max_memory_allocated`` (and, in the summary, ``max_memory_reserved``, which is
  closer to what nvidia-smi shows); null without CUDA.

MFU (model FLOPs utilisation) = model FLOPs per second on this device / the device's peak dense bf16 FLOP/s.
Model FLOPs count a multiply-add as 2 FLOPs over the weight matrix of every Linear layer (the LM head
included, even when tied; the embedding lookup is not a matmul and is left out). Per real token:

    forward                      2·N
    backward, activation grads   2·N     (every layer, frozen or not, passes gradients down)
    backward, weight grads       2·N_trainable

    full fine-tuning:  6·N
    LoRA:              4·N_frozen + 6·N_trainable   (N_trainable = the adapter matrices; N = N_frozen + N_trainable)

plus, unless turned off, causal attention: per sample of L tokens, QKᵀ and AV cost 2·2·(L²/2)·d_attn per
layer forward, x3 for forward + backward, i.e. 6·n_layers·d_attn·L² per sample (d_attn = heads x head_dim).
Gradient checkpointing's recomputation is hardware work, not model work, so it is not counted: MFU drops
when it is on, as it should. Peak throughput comes from ``PEAK_BF16_TFLOPS`` (spec sheets, dense, matched
against ``torch.cuda.get_device_name()``) or the ``peak_tflops`` override; with neither (CPU, unknown GPU)
MFU is null.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, fields
from pathlib import Path

from transformers import TrainerCallback

logger = logging.getLogger("arc25.train.metrics")

SUMMARY_FILE = "throughput.json"
_GIB = 1024**3

# Dense (no 2:4 sparsity) bf16 tensor-core TFLOP/s from vendor spec sheets; the first pattern found in the
# device name wins, so specific names come before the names they contain (H100 PCIe before H100, L40S before L4).
PEAK_BF16_TFLOPS: tuple[tuple[str, float], ...] = (
    ("GH200", 989.4),
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.4),  # SXM
    ("H200 NVL", 835.0),
    ("H200", 989.4),
    ("B200", 2250.0),
    ("A100", 312.0),
    ("L40S", 362.0),
    ("L40", 181.0),
    ("L4", 121.0),
    ("A6000", 154.8),  # RTX A6000
    ("4090", 165.2),  # GeForce, bf16 with fp32 accumulate
    ("3090", 71.0),  # GeForce, bf16 with fp32 accumulate (the journal's GPUs)
)


def peak_tflops_for(device_name: str | None) -> float | None:
    """Peak dense bf16 TFLOP/s for a CUDA device name, or None when the name is not in the table."""
    if not device_name:
        return None
    for pattern, tflops in PEAK_BF16_TFLOPS:
        if pattern.lower() in device_name.lower():
            return tflops
    return None


@dataclass(frozen=True)
class FlopsModel:
    """Model FLOPs of one training step, from Linear parameter counts and the attention shape."""

    n_frozen: int
    n_trainable: int
    n_layers: int = 0
    d_attn: int = 0

    @property
    def per_token(self) -> int:
        return 4 * self.n_frozen + 6 * self.n_trainable

    def step_flops(self, real_tokens: int, sum_sq_len: int) -> float:
        """FLOPs for a step that ran ``real_tokens`` tokens in samples whose squared lengths sum to ``sum_sq_len``."""
        return float(self.per_token) * real_tokens + 6.0 * self.n_layers * self.d_attn * sum_sq_len

    @classmethod
    def from_model(cls, model, attention: bool = True) -> FlopsModel:
        """Count the weights of every Linear layer (DeepSpeed ZeRO-3 shards report their full size via ds_numel)."""
        import torch

        frozen = trainable = 0
        seen = set()
        for module in model.modules():
            if not isinstance(module, torch.nn.Linear) or id(module.weight) in seen:
                continue
            seen.add(id(module.weight))
            numel = getattr(module.weight, "ds_numel", None) or module.weight.numel()
            if module.weight.requires_grad:
                trainable += numel
            else:
                frozen += numel
        n_layers = d_attn = 0
        config = getattr(model, "config", None)
        if attention and config is not None:
            n_layers = int(getattr(config, "num_hidden_layers", 0) or 0)
            heads = int(getattr(config, "num_attention_heads", 0) or 0)
            hidden = int(getattr(config, "hidden_size", 0) or 0)
            head_dim = getattr(config, "head_dim", None) or (hidden // heads if heads else 0)
            d_attn = heads * int(head_dim)
        return cls(n_frozen=frozen, n_trainable=trainable, n_layers=n_layers, d_attn=d_attn)


@dataclass
class _Totals:
    """Sums over a span of optimizer steps."""

    steps: int = 0
    seconds: float = 0.0
    wait_seconds: float = 0.0
    samples: int = 0
    real_tokens: int = 0
    padded_tokens: int = 0
    label_tokens: int = 0
    sum_sq_len: int = 0

    def add(self, other: _Totals) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def rates(totals: _Totals, world_size: int, flops: FlopsModel | None, peak_tflops: float | None) -> dict:
    """Throughput figures for a span of steps (None where a figure cannot be known)."""
    seconds = totals.seconds
    mfu = None
    if flops is not None and peak_tflops and seconds > 0:
        mfu = flops.step_flops(totals.real_tokens, totals.sum_sq_len) / seconds / (peak_tflops * 1e12)
    return {
        "samples_per_s": world_size * totals.samples / seconds if seconds > 0 else None,
        "real_tokens_per_s": world_size * totals.real_tokens / seconds if seconds > 0 else None,
        "padding_fraction": 1 - totals.real_tokens / totals.padded_tokens if totals.padded_tokens else None,
        "data_wait_fraction": totals.wait_seconds / seconds if seconds > 0 else None,
        "mfu": mfu,
    }


def _cuda_device(args):
    import torch

    device = getattr(args, "device", None)
    if torch.cuda.is_available() and device is not None and getattr(device, "type", None) == "cuda":
        return device
    return None


class ThroughputCallback(TrainerCallback):
    """Adds throughput figures to the trainer's training logs and writes a JSON summary when training ends.

    It is an arc25.train.trainer.BatchObserver: it needs two things a plain TrainerCallback never sees, which
    ArcTrainer feeds it: ``observe_fetch`` (how long the loop blocked on the dataloader for a step) and
    ``observe_batch`` (each batch's arc25.train.data.BatchStats). ``pending_logs`` hands the trainer the figures for
    the steps since its last training log.
    """

    def __init__(self, peak_tflops: float | None = None, attention_flops: bool = True, skip_first_steps: int = 1,
                 summary_file: str = SUMMARY_FILE):
        self.peak_override = peak_tflops
        self.attention_flops = attention_flops
        # The first step pays for worker start-up, allocator growth and kernel autotuning; the summary skips it.
        self.skip_first_steps = skip_first_steps
        self.summary_file = summary_file
        self.flops: FlopsModel | None = None
        self.peak_tflops: float | None = None
        self.device_name: str | None = None
        self.world_size = 1
        self._cuda = None
        self._step = _Totals()
        self._window = _Totals()
        self._all = _Totals()
        self._steady = _Totals()
        self._step_started: float | None = None
        self._steps_seen = 0
        # CUDA: the event the next step starts from, and the steps whose events are not read yet.
        self._mark = None
        self._pending: list[tuple] = []

    # --- fed by ArcTrainer ---
    def observe_fetch(self, started: float, wait_seconds: float) -> None:
        """The loop began fetching a step's micro-batches at ``started`` (perf_counter) and blocked for ``wait_seconds``."""
        self._step_started = started
        self._step.wait_seconds += wait_seconds

    def observe_batch(self, stats) -> None:
        """Counts of one training micro-batch (an arc25.train.data.BatchStats)."""
        step = self._step
        step.samples += stats.n_samples
        step.real_tokens += stats.real_tokens
        step.padded_tokens += stats.padded_tokens
        step.label_tokens += stats.label_tokens
        step.sum_sq_len += stats.sum_sq_len

    def pending_logs(self) -> dict:
        """Figures for the steps since the previous call (None figures left out: trackers reject them)."""
        self._settle()
        if self._window.steps == 0:
            return {}
        logs = rates(self._window, self.world_size, self.flops, self.peak_tflops)
        logs["peak_memory_gib"] = self._peak_memory()[0]
        self._window = _Totals()
        return {key: round(value, 4) for key, value in logs.items() if value is not None}

    # --- TrainerCallback ---
    def on_train_begin(self, args, state, control, model=None, **kwargs):
        import torch

        self.world_size = max(int(getattr(args, "world_size", 1) or 1), 1)
        self._cuda = _cuda_device(args)
        if self._cuda is not None:
            self.device_name = torch.cuda.get_device_name(self._cuda)
            torch.cuda.reset_peak_memory_stats(self._cuda)
        self.peak_tflops = self.peak_override or peak_tflops_for(self.device_name)
        if model is not None:
            self.flops = FlopsModel.from_model(model, attention=self.attention_flops)
        if self._cuda is not None and self.peak_tflops is None:
            logger.warning("no peak bf16 TFLOP/s known for %r; pass --peak-tflops for MFU", self.device_name)
        if self._cuda is not None:
            self._mark = self._event()

    def on_step_begin(self, args, state, control, **kwargs):
        # Without ArcTrainer's fetch hook, a step starts here and its data wait is unknown (counted as 0).
        if self._step_started is None:
            self._step_started = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        now = time.perf_counter()
        step, self._step = self._step, _Totals()
        step.steps = 1
        self._steps_seen += 1
        steady = self._steps_seen > self.skip_first_steps
        if self._cuda is not None:
            end = self._event()
            self._pending.append((self._mark, end, step, steady))
            self._mark = end
        else:
            step.seconds = now - self._step_started if self._step_started is not None else 0.0
            self._add(step, steady)
        self._step_started = None

    # Work between steps (logging, evaluation, saving, the solve rate's generation, which logs) is not a step's:
    # on CUDA the next step starts from an event recorded after it.
    def on_log(self, args, state, control, **kwargs):
        self._restart()

    def on_evaluate(self, args, state, control, **kwargs):
        self._restart()

    def on_save(self, args, state, control, **kwargs):
        self._restart()

    def _restart(self) -> None:
        if self._cuda is not None:
            self._mark = self._event()

    def _event(self):
        import torch

        event = torch.cuda.Event(enable_timing=True)
        event.record(torch.cuda.current_stream(self._cuda))
        return event

    def _add(self, step: _Totals, steady: bool) -> None:
        self._window.add(step)
        self._all.add(step)
        if steady:
            self._steady.add(step)

    def _settle(self) -> None:
        """Read the step times queued on CUDA events since the last read: one wait, for the last of them."""
        if not self._pending:
            return
        self._pending[-1][1].synchronize()
        for start, end, step, steady in self._pending:
            step.seconds = start.elapsed_time(end) / 1000
            self._add(step, steady)
        self._pending = []

    def on_train_end(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        summary = self.summary()
        path = Path(args.output_dir) / self.summary_file
        path.write_text(json.dumps(summary, indent=2))
        logger.info("throughput: %s", json.dumps({k: summary[k] for k in (
            "samples_per_s", "real_tokens_per_s", "padding_fraction", "data_wait_fraction", "peak_memory_gib", "mfu")}))

    # --- results ---
    def _peak_memory(self) -> tuple[float | None, float | None]:
        if self._cuda is None:
            return None, None
        import torch

        return (torch.cuda.max_memory_allocated(self._cuda) / _GIB, torch.cuda.max_memory_reserved(self._cuda) / _GIB)

    def summary(self) -> dict:
        """The run's figures over its steady steps (all steps if there were too few), plus what they rest on."""
        self._settle()
        span = self._steady if self._steady.steps else self._all
        allocated, reserved = self._peak_memory()
        out = rates(span, self.world_size, self.flops, self.peak_tflops)
        out.update(
            peak_memory_gib=allocated,
            peak_memory_reserved_gib=reserved,
            steps_measured=span.steps,
            steps_skipped=self._all.steps - span.steps,
            step_time_mean_s=span.seconds / span.steps if span.steps else None,
            tokens_per_sample=span.real_tokens / span.samples if span.samples else None,
            label_tokens_per_sample=span.label_tokens / span.samples if span.samples else None,
            world_size=self.world_size,
            device=self.device_name or "cpu",
            peak_tflops=self.peak_tflops,
            flops_per_token=self.flops.per_token if self.flops else None,
            n_linear_params_frozen=self.flops.n_frozen if self.flops else None,
            n_linear_params_trainable=self.flops.n_trainable if self.flops else None,
            attention_flops=self.attention_flops,
            totals={f.name: getattr(span, f.name) for f in fields(span)},
            # Every step's samples, all ranks (rank 0's count times the world): with --token-budget a step's
            # sample count varies, so steps x --batch-size is not what was read.
            samples_seen=self.world_size * self._all.samples,
            all_steps=rates(self._all, self.world_size, self.flops, self.peak_tflops),
        )
        return out
