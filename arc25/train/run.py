"""A run's bookkeeping: rank and launch size, the output folder, checkpoint discovery, the commit, tracking.

Light on purpose (no trl or transformers): finetuning.py checks a run with these before any model loads, and the
trainer itself lives in arc25.train.trainer.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path


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
        for name in ("model.safetensors", "adapter_model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
                     # FSDP's sharded checkpoint: torch.distributed.checkpoint writes .metadata after every rank's shard
                     "pytorch_model_fsdp_0/.metadata")
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
