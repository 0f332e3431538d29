"""What a training step asks of the host: ops, reads that stall a GPU, and oversized tensors, counted per micro-batch.

A ``StepProbe`` is a ``TorchDispatchMode``: every aten op the step dispatches (forward, backward on the autograd
threads, optimizer, collation in the main process) passes through it, on any device. It counts

- ``ops``: every dispatched op. On a GPU each is at least one kernel launch's worth of host work;
- ``syncs``: outside the optimizer's step (whose host-side step counters are reported apart, as
  ``optimizer_syncs``), the ops after which the host must wait for the device when the tensors live on a GPU: scalar reads
  (``.item()``, ``bool(t)``, ``float(t)`` all end in ``_local_scalar_dense``), ``nonzero``, ``masked_select``,
  boolean indexing (``x[mask]`` reads and writes: their output size depends on the data), ``equal``, and copies
  to the host or blocking copies between devices;
- ``vocab_wide``: outputs with a vocabulary-sized dimension other than a parameter-shaped tensor (a weight, its
  transpose, its gradient, its optimizer state): the logits or their chunks;
- ``dense_tt``: outputs whose last two dimensions are both the batch's sequence length (read off each
  embedding lookup's indices): a materialised T x T attention mask or score matrix.

On CPU none of the syncs cost anything, which is what lets a CPU run count the reads a GPU would stall on.
Use it around whole optimizer steps and divide by the micro-batches (``summary``); the counting itself slows
the step, so time steps without it.

    with StepProbe.for_model(model) as probe:
        run_steps()
    probe.summary(micro_batches=n_steps * grad_accum)

``StepProbeCallback`` does the same for a transformers Trainer over ``n_steps`` steps after ``skip_steps``.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from transformers import TrainerCallback

__all__ = ["StepProbe", "StepProbeCallback", "SYNC_OPS"]

# Ops whose result the host reads, or whose output size depends on tensor values (the host must learn it).
SYNC_OPS = frozenset({"_local_scalar_dense", "nonzero", "masked_select", "equal", "is_nonzero"})
# x[mask] and x[mask] = v with a boolean mask: a nonzero inside the kernel, unseen by the dispatcher.
_INDEX_OPS = frozenset({"index", "index_put", "index_put_", "_index_put_impl_", "_unsafe_index"})
_COPY_OPS = frozenset({"_to_copy", "copy_"})


def _bool_index(args) -> bool:
    indices = args[1] if len(args) > 1 else ()
    return any(isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in indices or ())


def _blocking_cross_device(name: str, args, kwargs, out) -> bool:
    """A copy that moves data between devices without non_blocking, or any copy to the host from a device."""
    if name == "copy_":
        dst, src = args[0], args[1]
        non_blocking = bool(args[2]) if len(args) > 2 else bool(kwargs.get("non_blocking", False))
    else:
        src, dst = args[0], out
        non_blocking = bool(kwargs.get("non_blocking", False))
    if not (isinstance(src, torch.Tensor) and isinstance(dst, torch.Tensor)) or src.device == dst.device:
        return False
    return dst.device.type == "cpu" or not non_blocking


def _caller() -> str:
    """The innermost Python frame outside torch's own modules: the line that asked for the read."""
    import traceback

    for frame in reversed(traceback.extract_stack()):
        if "/torch/" not in frame.filename and not frame.filename.endswith("step_probe.py"):
            parts = Path(frame.filename).parts
            return f"{'/'.join(parts[-2:])}:{frame.lineno} {frame.name}"
    return "?"


class StepProbe(TorchDispatchMode):
    """Counts dispatched ops, sync-type ops, vocabulary-wide and T x T outputs; see the module docstring."""

    def __init__(self, vocab_size: int | None = None, parameter_shapes=()):
        super().__init__()
        self.vocab_size = vocab_size
        # A weight's transpose (what a Linear multiplies by) is as parameter-shaped as the weight.
        self.parameter_shapes = {tuple(s) for s in parameter_shapes} | {tuple(s)[::-1] for s in parameter_shapes}
        self.ops: Counter = Counter()
        self.syncs: Counter = Counter()
        self.vocab_wide: Counter = Counter()
        self.dense_tt: Counter = Counter()
        self.optimizer_syncs: Counter = Counter()
        self.sync_sites: Counter = Counter()
        self.vocab_wide_max_numel = 0
        self.seq_len: int | None = None
        self._in_optimizer = False
        self._hooks = []

    @classmethod
    def for_model(cls, model) -> StepProbe:
        """A probe that knows the model's vocabulary size and leaves its parameter-shaped tensors alone."""
        config = getattr(model, "config", None)
        text = config.get_text_config() if hasattr(config, "get_text_config") else config
        vocab = getattr(text, "vocab_size", None)
        return cls(vocab_size=vocab, parameter_shapes=[p.shape for p in model.parameters()])

    def __enter__(self):
        from torch.optim.optimizer import register_optimizer_step_post_hook, register_optimizer_step_pre_hook

        # Every optimizer's step, whoever built it: their host-side reads are told apart from the step's own.
        self._hooks = [register_optimizer_step_pre_hook(lambda *_: self._optimizer_phase(True)),
                       register_optimizer_step_post_hook(lambda *_: self._optimizer_phase(False))]
        return super().__enter__()

    def __exit__(self, *exc):
        for hook in self._hooks:
            hook.remove()
        self._hooks = []
        return super().__exit__(*exc)

    def _optimizer_phase(self, inside: bool) -> None:
        self._in_optimizer = inside

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = func.overloadpacket.__name__
        if name == "embedding" and len(args) > 1 and isinstance(args[1], torch.Tensor) and args[1].dim() >= 1:
            self.seq_len = args[1].shape[-1]
        out = func(*args, **kwargs)
        self.ops[name] += 1
        sync = None
        if name in SYNC_OPS:
            sync = name
        elif name in _INDEX_OPS and _bool_index(args):
            sync = f"{name}(bool mask)"
        elif name in _COPY_OPS and _blocking_cross_device(name, args, kwargs, out):
            sync = f"{name}(blocking, cross-device)"
        if sync is not None:
            if self._in_optimizer:
                self.optimizer_syncs[sync] += 1
            else:
                self.syncs[sync] += 1
                self.sync_sites[f"{sync} at {_caller()}"] += 1
        for tensor in tree_leaves(out):
            if isinstance(tensor, torch.Tensor):
                self._check_shape(name, tensor)
        return out

    def _check_shape(self, name: str, tensor: torch.Tensor) -> None:
        shape = tuple(tensor.shape)
        if shape in self.parameter_shapes:
            return
        if self.vocab_size and self.vocab_size in shape:
            self.vocab_wide[name] += 1
            self.vocab_wide_max_numel = max(self.vocab_wide_max_numel, tensor.numel())
        t = self.seq_len
        if t and t > 1 and len(shape) >= 2 and shape[-1] == t and shape[-2] == t:
            self.dense_tt[name] += 1

    def summary(self, micro_batches: int) -> dict:
        """Counts per micro-batch (sync ops by name), and which ops built the oversized tensors."""
        n = max(micro_batches, 1)
        return {
            "micro_batches": micro_batches,
            "ops_per_micro_batch": round(sum(self.ops.values()) / n, 1),
            "syncs_per_micro_batch": round(sum(self.syncs.values()) / n, 2),
            "syncs_by_op": {k: round(v / n, 2) for k, v in sorted(self.syncs.items())},
            "optimizer_syncs_per_micro_batch": round(sum(self.optimizer_syncs.values()) / n, 2),
            "sync_sites": {k: round(v / n, 2) for k, v in self.sync_sites.most_common()},
            "vocab_wide_tensors": sum(self.vocab_wide.values()),
            "vocab_wide_ops": sorted(self.vocab_wide),
            "vocab_wide_max_numel": self.vocab_wide_max_numel,
            "dense_tt_tensors": sum(self.dense_tt.values()),
            "dense_tt_ops": sorted(self.dense_tt),
            "top_ops": dict(self.ops.most_common(8)),
        }


class StepProbeCallback(TrainerCallback):
    """Runs a StepProbe over ``n_steps`` whole optimizer steps of a Trainer, after ``skip_steps``.

    The probe opens at the end of step ``skip_steps`` and closes at the end of step ``skip_steps + n_steps``, so
    it sees each step from its batch fetch to its optimizer step, plus the logging, saving and evaluation the
    trainer does after step ``skip_steps`` (pick a logging cadence that lands where you want it). ``summary``
    holds the result; with ``output_file`` it is also written there as JSON (main process only).
    """

    def __init__(self, n_steps: int, skip_steps: int = 1, output_file: str | Path | None = None):
        if n_steps < 1:
            raise ValueError(f"n_steps must be >= 1, got {n_steps}")
        self.n_steps, self.skip_steps = n_steps, skip_steps
        self.output_file = Path(output_file) if output_file else None
        self.probe: StepProbe | None = None
        self.summary: dict | None = None

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if model is not None:
            self.probe = StepProbe.for_model(model)
        if self.probe is not None and self.skip_steps == 0:
            self.probe.__enter__()

    def on_step_end(self, args, state, control, **kwargs):
        if self.probe is None or self.summary is not None:
            return
        if state.global_step == self.skip_steps and self.skip_steps > 0:
            self.probe.__enter__()
        elif state.global_step == self.skip_steps + self.n_steps:
            self._close(args, state)

    def on_train_end(self, args, state, control, **kwargs):
        if self.probe is not None and self.summary is None and state.global_step > self.skip_steps:
            self._close(args, state)

    def _close(self, args, state) -> None:
        self.probe.__exit__(None, None, None)
        steps = min(state.global_step, self.skip_steps + self.n_steps) - self.skip_steps
        self.summary = dict(self.probe.summary(steps * args.gradient_accumulation_steps), steps=steps)
        if self.output_file is not None and state.is_world_process_zero:
            self.output_file.parent.mkdir(parents=True, exist_ok=True)
            self.output_file.write_text(json.dumps(self.summary, indent=2))
