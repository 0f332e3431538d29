"""Stop training after a wall-clock budget, saving the model as at a normal end; optionally lay the learning-rate
schedule over that budget instead of over --max-steps."""

from __future__ import annotations

import math
import time

from transformers import TrainerCallback


class TimeLimitCallback(TrainerCallback):
    """Ends training at the first step boundary after ``minutes`` of training (start-up not counted).

    Every rank decides from its own clock, so under DDP the decision is taken from rank 0's broadcast
    elapsed time: ranks that stopped one step apart would deadlock in the next all-reduce.
    """

    def __init__(self, minutes: float):
        if not minutes > 0:
            raise ValueError(f"minutes must be > 0, got {minutes}")
        self.seconds = 60.0 * minutes
        self.started: float | None = None
        # Share of the budget spent at the last step's end (rank 0's clock): what a time schedule reads.
        self.fraction = 0.0

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        elapsed = time.perf_counter() - self.started
        if args.world_size > 1:
            import torch
            import torch.distributed as dist

            if dist.is_available() and dist.is_initialized():
                device = args.device if dist.get_backend() == "nccl" else "cpu"
                value = torch.tensor([elapsed], dtype=torch.float64, device=device)
                dist.broadcast(value, src=0)
                elapsed = float(value.item())
        self.fraction = min(elapsed / self.seconds, 1.0)
        if elapsed >= self.seconds:
            control.should_training_stop = True
            control.should_save = True
        return control


def time_factor(kind: str, warmup: float, fraction: float) -> float:
    """The LR multiplier of schedule ``kind`` when ``fraction`` of the time budget is spent, ``warmup`` of it
    warming up: transformers' shapes of the same names, with time in place of steps."""
    if kind == "constant":
        return 1.0
    if fraction < warmup:
        return fraction / warmup
    if kind == "constant_with_warmup":
        return 1.0
    progress = min((fraction - warmup) / (1.0 - warmup), 1.0)
    if kind == "linear":
        return 1.0 - progress
    if kind == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    from arc25.cli.args import TIME_SCHEDULERS

    raise ValueError(f"no time schedule {kind!r}; valid: {', '.join(TIME_SCHEDULERS)}")


def time_schedule(optimizer, limit: TimeLimitCallback, kind: str, warmup: float):
    """A LambdaLR whose multiplier follows ``limit``'s spent fraction (lagging one step: an optimizer step's LR is
    set before that step's end is timed). Its state holds no clock, so a resumed run starts its budget afresh, as
    the time limit does."""
    import torch

    def factor(_step: int) -> float:
        return time_factor(kind, warmup, limit.fraction)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
