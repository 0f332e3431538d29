"""Pieces finetuning.py assembles: run folder bookkeeping, checkpoint discovery, tracking, the trainer subclass."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Protocol, Sequence

from arc25.data import BatchStats


def rank_and_world() -> tuple[int, int]:
    """(this process's rank, processes in the launch): the one place arc25 asks.

    The process group's answer once it exists; before (while the run is being checked, and the group not yet
    formed by the trainer) the variables accelerate launch and torchrun set, and (0, 1) for a plain run.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def check_output_dir(output_dir: str) -> Path:
    """Create the output dir and prove it is writable, or raise a one-line ValueError."""
    path = Path(output_dir).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write_test_{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as err:
        raise ValueError(f"--output-dir {output_dir!r} cannot be written: {err.strerror or err}") from None
    return path


def _is_complete(checkpoint: Path) -> bool:
    # A save killed halfway leaves a folder without its state or weights; resuming from it would crash.
    has_weights = any(
        (checkpoint / name).exists()
        for name in ("model.safetensors", "adapter_model.safetensors", "pytorch_model.bin", "model.safetensors.index.json")
    )
    return has_weights and (checkpoint / "trainer_state.json").is_file()


def find_checkpoint(output_dir: str | Path) -> tuple[Path, int] | None:
    """The newest complete ``checkpoint-N`` folder and its global step, or None."""
    found = []
    for child in Path(output_dir).glob("checkpoint-*"):
        suffix = child.name.split("-", 1)[1]
        if child.is_dir() and suffix.isdigit() and _is_complete(child):
            found.append((int(suffix), child))
    if not found:
        return None
    _, path = max(found)
    step = json.loads((path / "trainer_state.json").read_text())["global_step"]
    return path, int(step)


def git_commit() -> str | None:
    """HEAD of the checkout finetuning.py lives in, or None outside git."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _wandb_reachable(timeout_s: float = 2.0) -> bool:
    try:
        with socket.create_connection(("api.wandb.ai", 443), timeout=timeout_s):
            return True
    except OSError:
        return False


def _wandb_credentials() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    netrc = Path.home() / ".netrc"
    return netrc.is_file() and "api.wandb.ai" in netrc.read_text(errors="ignore")


def setup_tracking(log_to_wandb: bool, output_dir: Path, project: str) -> tuple[list[str], str]:
    """Choose the tracker: W&B (offline under the output dir without credentials or network), else tensorboard."""
    if log_to_wandb:
        try:
            import wandb  # noqa: F401
        except ImportError:
            note = "wandb is not installed (pip install 'arc25[wandb]'); logging to tensorboard instead"
        else:
            os.environ.setdefault("WANDB_PROJECT", project)
            os.environ.setdefault("WANDB_DIR", str(output_dir))
            # Never let W&B prompt for a key or wait on a network that is not there.
            os.environ["WANDB_SILENT"] = "true"
            if os.environ.get("WANDB_MODE") != "offline" and not (_wandb_credentials() and _wandb_reachable()):
                os.environ["WANDB_MODE"] = "offline"
            return ["wandb"], f"W&B ({os.environ.get('WANDB_MODE', 'online')})"
    else:
        note = "tensorboard"
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return [], "no tracker (" + note + "; tensorboard not installed)"
    return ["tensorboard"], note


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
    """What ArcTrainer feeds, besides the trainer's callback events (arc25.metrics.ThroughputCallback is one)."""

    def observe_fetch(self, started: float, wait_seconds: float) -> None:
        """The loop began fetching a step's micro-batches at ``started`` (perf_counter), blocked ``wait_seconds``."""

    def observe_batch(self, stats: BatchStats) -> None:
        """One training micro-batch's statistics."""

    def pending_logs(self) -> dict:
        """Figures to add to the next training log entry."""


def make_trainer_class():
    """SFTTrainer that takes each batch's BatchStats out and feeds its observers (imported lazily: trl is heavy)."""
    from transformers import TrainerCallback
    from trl import SFTTrainer

    class TrainingInfoCallback(TrainerCallback):
        """Records beside every checkpoint what a later run must match (see arc25.loading.write_training_info)."""

        def __init__(self, info: dict):
            self.info = info

        def on_save(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                from arc25.loading import write_training_info

                write_training_info(Path(args.output_dir) / f"checkpoint-{state.global_step}", **self.info)

    class ArcTrainer(SFTTrainer):
        """Skipped-sample counts and observer figures in the training logs; the first N samples dumped per rank.

        ``observers`` receive every training batch's BatchStats and fetch time; those that are also trainer
        callbacks are registered as such. ``training_info`` is recorded beside every checkpoint. ``token_classes``
        (an arc25.token_classes.EvalTokenClasses) adds each evaluation's loss per token class, taken from the
        evaluation's own forwards.
        """

        def __init__(self, *args, observers: Sequence[BatchObserver] = (), training_info: dict | None = None,
                     dump_samples: int = 0, dump_dir: Path | None = None, run_start_step: int = 0,
                     token_classes=None, **kwargs):
            callbacks = list(kwargs.pop("callbacks", None) or [])
            callbacks += [o for o in observers if isinstance(o, TrainerCallback) and o not in callbacks]
            if training_info is not None:
                callbacks.append(TrainingInfoCallback(training_info))
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

        def get_batch_samples(self, epoch_iterator, *args, **kwargs):
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

        def evaluation_loop(self, *args, metric_key_prefix: str = "eval", **kwargs):
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
            import torch

            tensor = torch.tensor(values, dtype=torch.float64, device=self.accelerator.device)
            return self.accelerator.reduce(tensor, reduction="sum").tolist()

        def log(self, logs: dict, *args, **kwargs):
            if "loss" in logs:
                logs["skipped_too_long"] = self.skipped_samples
                for observer in self.observers:
                    logs.update(observer.pending_logs())
            return super().log(logs, *args, **kwargs)

    return ArcTrainer
