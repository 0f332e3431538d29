"""Stop training after a wall-clock budget, saving the model as at a normal end."""

from __future__ import annotations

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
        if elapsed >= self.seconds:
            control.should_training_stop = True
            control.should_save = True
        return control
