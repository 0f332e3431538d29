"""What a test-time run reports: a console table, results.jsonl, two PNGs per task, and a tracker."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from arc25.her.loop import EpochRecord, TaskOutcome
from arc25.infer.report import safe_name, table

__all__ = ["RESULTS_FILE", "Tracker", "format_table", "plot_predictions", "plot_scores", "plot_paths"]

RESULTS_FILE = "results.jsonl"
_COLUMNS = (
    ("task", lambda r: r.task_id), ("epoch", lambda r: str(r.epoch)),
    ("best", lambda r: f"{r.best_accuracy:.3f}"), ("mean", lambda r: f"{r.mean_accuracy:.3f}"),
    ("min", lambda r: f"{r.min_accuracy:.3f}"), ("unique", lambda r: str(r.n_unique_outputs)),
    ("new", lambda r: str(r.n_new_tasks)), ("solved", lambda r: "yes" if r.solved else "no"),
    ("test", lambda r: "-" if r.test_solved is None else "yes" if r.test_solved else "no"),
    ("sample s", lambda r: f"{r.sample_s:.1f}"), ("exec s", lambda r: f"{r.execute_s:.1f}"),
    ("train s", lambda r: f"{r.train_s:.1f}"),
    ("pred/s", lambda r: "-" if r.predictions_per_s is None else f"{r.predictions_per_s:.1f}"),
)


def format_table(records: list[EpochRecord]) -> str:
    """One row per task and epoch, columns aligned."""
    return table([name for name, _ in _COLUMNS], [[cell(r) for _, cell in _COLUMNS] for r in records])


def plot_paths(out_dir: Path, task_id: str) -> tuple[Path, Path]:
    name = safe_name(task_id)
    return out_dir / "plots" / f"{name}_scores.png", out_dir / "plots" / f"{name}_predictions.png"


def plot_scores(outcome: TaskOutcome, path: Path) -> None:
    """Best, mean and min pixel accuracy of the sampled programs over the epochs."""
    from matplotlib.figure import Figure

    epochs = [r.epoch for r in outcome.epochs]
    fig = Figure(figsize=(6, 3.6))
    ax = fig.add_subplot()
    for name, values, style in (("best", [r.best_accuracy for r in outcome.epochs], "o-"),
                                ("mean", [r.mean_accuracy for r in outcome.epochs], "s--"),
                                ("min", [r.min_accuracy for r in outcome.epochs], "v:")):
        ax.plot(epochs, values, style, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("pixel accuracy (train pairs)")
    ax.set_ylim(-0.02, 1.02)
    if epochs:
        ax.set_xticks(epochs)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    verdict = "solved" if outcome.solved else outcome.stop_reason or "running"
    ax.set_title(f"{outcome.task.task_id}: {verdict}", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, format="png")


def plot_predictions(outcome: TaskOutcome, path: Path) -> None:
    """The first train pair's target beside each epoch's best prediction of it."""
    from matplotlib.figure import Figure

    from arc25.infer.plot import _draw_grid

    task = outcome.task
    panels = [(task.train_inputs[0], "input"), (task.train_outputs[0], "target")]
    for record, predictions in zip(outcome.epochs, outcome.best_predictions):
        grid = predictions[0] if predictions else None
        panels.append((grid, f"epoch {record.epoch} ({record.best_accuracy:.2f})"))
    cols = min(len(panels), 6)
    rows = -(-len(panels) // cols)
    fig = Figure(figsize=(2.2 * cols, 2.2 * rows + 0.4))
    for k, (grid, label) in enumerate(panels):
        _draw_grid(fig.add_subplot(rows, cols, k + 1), None if grid is None else np.asarray(grid), label)
    verdict = "solved" if outcome.solved else "not solved"
    if outcome.test_solved is not None:
        verdict += ", test " + ("right" if outcome.test_solved else "wrong")
    fig.suptitle(f"{task.task_id}: best prediction per epoch ({verdict})", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, format="png")


class Tracker:
    """Per-epoch scalars to W&B (offline without credentials) or tensorboard, as training chooses; never fatal."""

    def __init__(self, log_to_wandb: bool, out_dir: Path, project: str, config: dict):
        from arc25.train.run import setup_tracking

        self.name, self.writer, self.run = "none", None, None
        try:
            report_to, self.name = setup_tracking(log_to_wandb, out_dir, project)
            if "wandb" in report_to:
                import wandb

                self.run = wandb.init(project=os.environ.get("WANDB_PROJECT", project), dir=str(out_dir),
                                      config=config, job_type="test-time-her")
            elif "tensorboard" in report_to:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(out_dir / "tensorboard"))
        except Exception as err:  # noqa: BLE001 -- a tracker must never end a run
            self.name = f"none ({type(err).__name__}: {err})"

    def log(self, record: EpochRecord, method: str = "her") -> None:
        """One epoch's scalars under ``<method>/<task>/`` (method: her, or sampling in a comparison)."""
        values = {k: v for k, v in record.to_json().items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        values["solved"] = int(record.solved)
        prefix = f"{method}/{record.task_id}"
        if self.run is not None:
            self.run.log({f"{prefix}/{k}": v for k, v in values.items()} | {f"{prefix}/epoch": record.epoch})
        if self.writer is not None:
            for k, v in values.items():
                self.writer.add_scalar(f"{prefix}/{k}", v, record.epoch)
            self.writer.flush()

    def close(self) -> None:
        if self.run is not None:
            self.run.finish()
        if self.writer is not None:
            self.writer.close()

