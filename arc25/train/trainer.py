"""ArcTrainer: trl's SFTTrainer with arc25's batch statistics, observers and a loss path that never waits on the device.

What it adds: each batch's BatchStats (arc25.train.data) taken out before the forward and fed to observers (the
throughput callback), skipped-sample counts in the logs, the first N samples dumped per rank, the training info
recorded beside every checkpoint, an FSDP final save gathered into one plain folder, and each evaluation's loss per
token class. Between logging steps nothing is read back from the device.

Every override below says what the library does there, what we change, and the versions it was checked against:
trl 1.16 and transformers 5.24 (constraints.txt; CI) and transformers 5.17 (the GPU machine's build; ``make
test-gpu-versions``). A trl or transformers upgrade should re-read those methods; tests/test_step_overhead.py holds
our loss equal to trl's and counts the host reads per step.

This module imports trl and transformers at the top: finetuning.py imports it only once a run has been checked, so
``--help`` and bad flags stay fast.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from pathlib import Path
from typing import Protocol, Sequence

import torch
from transformers import TrainerCallback
from trl import SFTTrainer

from arc25.train.data import BatchStats

logger = logging.getLogger("arc25.train.trainer")

# floating_point_ops asks the library's estimate for one token, once.
_ONE_TOKEN = torch.zeros(1, 1, dtype=torch.long)


class _TimedIterator:
    """Wraps the trainer's batch iterator to add up the seconds spent blocked in next()."""

    def __init__(self, iterator):
        self.iterator = iterator
        self.seconds = 0.0

    def __iter__(self):
        return self

    def __next__(self):
        started = time.perf_counter()
        try:
            return next(self.iterator)
        finally:
            self.seconds += time.perf_counter() - started


class BatchObserver(Protocol):
    """What ArcTrainer feeds, besides the trainer's callback events (arc25.train.metrics.ThroughputCallback is one)."""

    def observe_fetch(self, started: float, wait_seconds: float) -> None:
        """The loop began fetching a step's micro-batches at ``started`` (perf_counter), blocked ``wait_seconds``."""

    def observe_batch(self, stats: BatchStats) -> None:
        """One training micro-batch's statistics."""

    def pending_logs(self) -> dict:
        """Figures to add to the next training log entry."""


def step_arguments(cuda: bool) -> dict:
    """SFTConfig settings that keep the host off the device's back between logging steps.

    - ``logging_nan_inf_filter`` off: the filter reads every micro-batch's loss back (isnan, isinf: two syncs); a
      NaN loss then shows in the logged loss instead of being papered over with the running average;
    - pinned batches, so accelerate's copies to the GPU can be non-blocking (ArcTrainer turns that on).
    """
    return dict(logging_nan_inf_filter=False, dataloader_pin_memory=cuda)


def lora_cast_layers(model) -> list:
    """The plain LoRA layers (no DoRA or other variant, no dropout) whose input peft casts to the adapter's dtype.

    Under mixed precision a bf16 model's LoRA adapters are kept in fp32, and peft casts every LoRA input up to
    fp32, which autocast then casts back down for the matmul: copies that change nothing. Inside autocast, these
    layers can go without (``lora_input_casts_off``); outside it (generation without autocast) they need them.
    """
    return [module for module in model.modules()
            if hasattr(module, "cast_input_dtype_enabled") and not getattr(module, "lora_variant", None)
            and all(isinstance(d, torch.nn.Identity) for d in getattr(module, "lora_dropout", {}).values())]


@contextlib.contextmanager
def lora_input_casts_off(layers: list):
    """No input casts in ``layers`` (from lora_cast_layers) for the forwards inside; only under autocast."""
    for layer in layers:
        layer.cast_input_dtype_enabled = False
    try:
        yield
    finally:
        for layer in layers:
            layer.cast_input_dtype_enabled = True


class TrainingInfoCallback(TrainerCallback):
    """Records beside every checkpoint what a later run must match (see arc25.models.loading.write_training_info)."""

    def __init__(self, info: dict):
        self.info = info

    def on_save(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            from arc25.models.loading import write_training_info

            write_training_info(Path(args.output_dir) / f"checkpoint-{state.global_step}", **self.info)


class ShardReportCallback(TrainerCallback):
    """Logs, per rank, how much of the model FSDP left it: the evidence that a launch sharded at all."""

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        from arc25.train.distributed import shard_summary

        summary = shard_summary(model) if model is not None else None
        if summary is not None:
            logger.info(
                "sharded: rank %d holds %s of %s parameter values (%.1f%%)", args.process_index,
                f"{summary['held']:,}", f"{summary['total']:,}", 100 * summary["fraction"])


class ArcTrainer(SFTTrainer):
    """Skipped-sample counts and observer figures in the training logs; the first N samples dumped per rank.

    ``observers`` receive every training batch's BatchStats and fetch time; those that are also trainer
    callbacks are registered as such. ``training_info`` is recorded beside every checkpoint. ``token_classes``
    (an arc25.train.token_classes.EvalTokenClasses) adds each evaluation's loss per token class, taken from the
    evaluation's own forwards.

    Between logging steps nothing is read back from the device: trl's per-micro-batch metrics
    (entropy, token accuracy, tokens seen) are summed on the device and read once per log, the token count
    comes from the batches' own statistics, and the FLOPs estimate is cached instead of walking the model
    every micro-batch. The loss is trl's, computed the same way (a test holds them equal).
    """

    def __init__(self, *args, observers: Sequence[BatchObserver] = (), training_info: dict | None = None,
                 dump_samples: int = 0, dump_dir: Path | None = None, run_start_step: int = 0,
                 token_classes=None, lr_schedule=None, **kwargs):
        # Library: SFTTrainer sets up model, data and accelerator. Ours: registers our callbacks and observers,
        # and makes pinned batches copy without blocking (trl 1.16; transformers 5.24, 5.17).
        callbacks = list(kwargs.pop("callbacks", None) or [])
        callbacks += [o for o in observers if isinstance(o, TrainerCallback) and o not in callbacks]
        if training_info is not None:
            callbacks.append(TrainingInfoCallback(training_info))
        callbacks.append(ShardReportCallback())
        # optimizer -> scheduler, for a schedule transformers' names do not cover (a time-laid one).
        self.lr_schedule = lr_schedule
        super().__init__(*args, callbacks=callbacks, **kwargs)
        self.observers = list(observers)
        self.dump_left = dump_samples
        self.dump_path = None
        if dump_samples and dump_dir is not None:
            dump_dir.mkdir(parents=True, exist_ok=True)
            self.dump_path = dump_dir / f"rank{self.args.process_index}.jsonl"
        self.run_start_step = run_start_step
        self.skipped_samples = 0
        self.token_classes = token_classes
        self._metric_sums: dict = {}  # mode -> device tensor [entropy sum, top-1 hits, label tokens]
        self._tokens_seen = 0  # real training tokens on this rank, from the batches' statistics
        self._flops_per_token: int | None = None
        # Training and evaluation forwards run under autocast; generation from callbacks may not.
        self._cast_layers = lora_cast_layers(self.model) if self.args.bf16 or self.args.fp16 else []
        if self.args.dataloader_pin_memory and self.args.device.type == "cuda":
            # Pinned batches are what makes a non-blocking copy asynchronous; accelerate reads this at prepare.
            self.accelerator.dataloader_config.non_blocking = True

    def _load_optimizer_and_scheduler(self, checkpoint):
        """Library: loads the optimizer state with ``map_location=args.device`` (``cpu:0`` on CPU ranks under 5.17).
        Ours: first teaches torch that location (arc25.models.compat) (trl 1.16; transformers 5.24, 5.17)."""
        from arc25.models import compat

        if checkpoint is not None and self.args.device.type == "cpu":
            compat.restore_indexed_cpu_storage()
        return super()._load_optimizer_and_scheduler(checkpoint)

    def create_scheduler(self, num_training_steps: int, optimizer=None):
        """Library: a named schedule over ``num_training_steps``. Ours: ``lr_schedule``'s, when one was given
        (trl 1.16; transformers 5.24, 5.17)."""
        if self.lr_scheduler is None and self.lr_schedule is not None:
            self.lr_scheduler = self.lr_schedule(optimizer if optimizer is not None else self.optimizer)
            return self.lr_scheduler
        return super().create_scheduler(num_training_steps, optimizer)

    def create_accelerator_and_postprocess(self):
        """Library: builds the accelerator; accelerate 1.15 runs an FSDP launch on CPU ranks as plain DDP. Ours: then
        switches such a launch to FSDP (arc25.train.distributed.shard_on_cpu) (trl 1.16; transformers 5.24, 5.17)."""
        from arc25.train import distributed

        super().create_accelerator_and_postprocess()
        distributed.shard_on_cpu(self)

    def save_model(self, output_dir: str | None = None, _internal_call: bool = False):
        """Library: under FSDP with a sharded state-dict type writes no gathered weights. Ours: a save for use (not a
        checkpoint) gathers them into one plain folder (trl 1.16; transformers 5.24, 5.17)."""
        # Under FSDP the checkpoints stay sharded (one file per rank, what resume reads), but a model saved
        # for use (finetuning's final/) is gathered into one plain folder that evaluate, HER and merge_lora
        # load; the trainer itself writes no weights there with a sharded state-dict type.
        if self.is_fsdp_enabled and not _internal_call:
            state_dict = self.accelerator.get_state_dict(self.model)  # a collective: every rank takes part
            return self._save(output_dir, state_dict=state_dict)
        return super().save_model(output_dir, _internal_call)

    def get_batch_samples(self, epoch_iterator, *args, **kwargs):
        """Library: pulls one step's micro-batches and counts their label tokens. Ours: also times the wait, takes each
        batch's BatchStats out before the model sees it and feeds the observers (trl 1.16; transformers 5.24, 5.17)."""
        timed = _TimedIterator(epoch_iterator)
        started = time.perf_counter()
        batches, *rest = super().get_batch_samples(timed, *args, **kwargs)
        for observer in self.observers:
            observer.observe_fetch(started, timed.seconds)
        for batch in batches:
            stats = batch.pop(BatchStats.KEY, None)
            if stats is not None:
                self._observe(stats)
        return (batches, *rest)

    def _observe(self, stats: BatchStats) -> None:
        for observer in self.observers:
            observer.observe_batch(stats)
        self.skipped_samples += stats.skipped
        self._tokens_seen += stats.real_tokens
        if self.dump_left > 0 and self.dump_path is not None:
            rows = list(zip(stats.codes, stats.generators, stats.n_draws))[: self.dump_left]
            with open(self.dump_path, "a") as f:
                f.writelines(json.dumps({
                        "code": code, "generator": generator, "n_draws": n_draws,
                        "rank": self.args.process_index, "worker": stats.worker,
                        "run_start_step": self.run_start_step,
                        "step": self.state.global_step,
                    }) + "\n" for code, generator, n_draws in rows)
            self.dump_left -= len(rows)

    def _plain_loss(self) -> bool:
        """Whether trl would take its plain path (nll over the fused head), the one compute_loss mirrors."""
        parallel = getattr(self.accelerator, "parallelism_config", None)
        return (self.compute_loss_func is None and self.label_smoother is None and self.args.loss_type == "nll"
                and not self.aux_loss_enabled and not getattr(parallel, "sp_enabled", False))

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        """Library: trl's fused-head nll, then entropy, accuracy and tokens gathered and read back every micro-batch.
        Ours: the same loss on trl's plain path, with the metrics summed on the device for log() to read once; any
        other path goes to trl's own (trl 1.16; transformers 5.24, 5.17)."""
        # Per-token weights of a prompt weighted below its program (arc25.train.data.prompt_in_loss): training only.
        weights = inputs.pop("loss_weights", None)
        if return_outputs or not self._plain_loss():
            if weights is not None:
                raise ValueError("--prompt-loss-weight needs trl's plain nll loss (no custom loss function, label "
                                 "smoothing, other loss_type or sequence parallelism)")
            if "attention_mask" not in inputs and "position_ids" not in inputs:
                # trl counts tokens from one or the other; BatchCollator drops an all-ones mask.
                inputs["attention_mask"] = torch.ones_like(inputs["input_ids"])
            return super().compute_loss(model, inputs, return_outputs=return_outputs,
                                        num_items_in_batch=num_items_in_batch)
        no_mask = self._no_mask(inputs)
        if "attention_mask" not in inputs and no_mask is not None:
            inputs["attention_mask"] = no_mask
        with lora_input_casts_off(self._cast_layers):
            outputs = model(**inputs, use_cache=False, fused_lm_head=True)
        num_tokens = outputs.label_mask.sum() if num_items_in_batch is None else num_items_in_batch
        if weights is None:
            loss = -outputs.log_probs.sum() / torch.as_tensor(num_tokens).clamp(min=1)
        else:
            # A weighted mean over the step's label tokens. The step's count is of tokens, not weights: this
            # micro-batch's mean weight scales it (exact with one micro-batch a step), all on the device.
            weights = weights[:, 1:].to(outputs.log_probs.device) * outputs.label_mask
            mean_weight = weights.sum() / outputs.label_mask.sum().clamp(min=1)
            denominator = (torch.as_tensor(num_tokens, device=weights.device) * mean_weight).clamp(min=1e-6)
            loss = -(outputs.log_probs * weights).sum() / denominator
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * (self.accelerator.num_processes // self.get_tp_size())
        with torch.no_grad():
            sums = torch.stack([outputs.entropy.sum(), outputs.is_top1.sum(), outputs.label_mask.sum()]).float()
        mode = "train" if self.model.training else "eval"
        self._metric_sums[mode] = sums if mode not in self._metric_sums else self._metric_sums[mode] + sums
        return loss

    def _no_mask(self, inputs: dict) -> dict | None:
        """For a batch without padding: the per-layer-type masks transformers would build, all None, or None.

        Given as a dict, the model takes them as built: it skips building the mask, which for a mask-less
        batch still reads its position ids back (a sync) to look for packed sequences. Only where None means
        causal attention and every layer attends in full; for a packed row, only where the attention reads the
        row's sample offsets (``cu_seq_lens_q``) instead of a mask (flash attention, arc25.train.attention's).
        """
        if not hasattr(self, "_no_mask_attn"):
            from arc25.train.attention import NAME

            config = self.accelerator.unwrap_model(self.model).config
            full = set(getattr(config, "layer_types", None) or ["full_attention"]) == {"full_attention"}
            attn = getattr(config, "_attn_implementation", None)
            self._no_mask_attn = {"plain": full and attn in ("sdpa", "flash_attention_2", NAME),
                                  "packed": full and attn in ("flash_attention_2", NAME)}
        if "position_ids" not in inputs:
            return {"full_attention": None} if self._no_mask_attn["plain"] else None
        return {"full_attention": None} if self._no_mask_attn["packed"] and "cu_seq_lens_q" in inputs else None

    def floating_point_ops(self, inputs) -> int:
        """Library: 6 x tokens x non-embedding parameters, counting the parameters every micro-batch. Ours: the same
        figure, with the per-token part computed once (trl 1.16; transformers 5.24, 5.17)."""
        if self._flops_per_token is None:
            self._flops_per_token = super().floating_point_ops({"input_ids": _ONE_TOKEN})
        ids = inputs.get(getattr(self.model, "main_input_name", "input_ids"))
        return ids.numel() * self._flops_per_token if ids is not None else 0

    def _read_metric_sums(self, mode: str) -> None:
        """The device-side sums since the last log -> trl's metrics, token-weighted over all ranks (one read)."""
        sums = self._metric_sums.pop(mode, None)
        if sums is None:
            return
        tokens = float(self._tokens_seen) if mode == "train" else 0.0
        values = torch.cat([sums, torch.tensor([tokens], device=sums.device)])
        if self.accelerator.num_processes > 1:
            values = self.accelerator.reduce(values, reduction="sum")
        entropy, correct, valid, tokens = values.tolist()
        metrics = self._metrics[mode]
        metrics["entropy"] = [entropy / valid if valid else 0.0]
        metrics["mean_token_accuracy"] = [correct / valid if valid else 0.0]
        if mode == "train":
            metrics["num_tokens"] = [tokens]

    def evaluation_loop(self, *args, metric_key_prefix: str = "eval", **kwargs):
        """Library: runs the evaluation forwards and reports the mean loss. Ours: also the loss per token class,
        observed on those same forwards by a hook (trl 1.16; transformers 5.24, 5.17)."""
        classes = self.token_classes
        if classes is None:
            return super().evaluation_loop(*args, metric_key_prefix=metric_key_prefix, **kwargs)

        def observe(module, _args, forward_kwargs, output):
            # Only the loss forwards (they carry labels); generation and logits-only forwards pass by.
            if not module.training:
                classes.observe(output, forward_kwargs.get("labels"), forward_kwargs.get("shift_labels"))

        classes.start()
        # On the outermost model the trainer calls (PEFT's wrapper included): it sees the labels and the output.
        handle = self.model.register_forward_hook(observe, with_kwargs=True)
        try:
            output = super().evaluation_loop(*args, metric_key_prefix=metric_key_prefix, **kwargs)
        finally:
            handle.remove()
        # Every rank runs the loop, so every rank joins this sum: no rank waits alone.
        output.metrics.update(classes.metrics(self._sum_over_processes, prefix=f"{metric_key_prefix}_"))
        return output

    def _sum_over_processes(self, values: list[float]) -> list[float]:
        if self.accelerator.num_processes == 1:
            return values
        tensor = torch.tensor(values, dtype=torch.float64, device=self.accelerator.device)
        return self.accelerator.reduce(tensor, reduction="sum").tolist()

    def log(self, logs: dict, *args, **kwargs):
        """Library: trl averages the metrics it appended per micro-batch into the log. Ours: first reads our device
        sums into those metrics (one read per log), then adds skipped samples and the observers' figures (trl 1.16;
        transformers 5.24, 5.17)."""
        self._read_metric_sums("train" if self.model.training else "eval")
        if "loss" in logs:
            logs["skipped_too_long"] = self.skipped_samples
            for observer in self.observers:
                logs.update(observer.pending_logs())
        return super().log(logs, *args, **kwargs)
