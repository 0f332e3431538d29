"""Render tasks and predictions to PNG with the standard ARC palette, and the GPU report's speed and loss charts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

__all__ = ["ARC_COLORS", "plot_learning_curve", "plot_prediction", "plot_speed", "plot_task"]

ARC_COLORS = (
    "#000000",  # 0 black
    "#0074D9",  # 1 blue
    "#FF4136",  # 2 red
    "#2ECC40",  # 3 green
    "#FFDC00",  # 4 yellow
    "#AAAAAA",  # 5 grey
    "#F012BE",  # 6 magenta
    "#FF851B",  # 7 orange
    "#7FDBFF",  # 8 light blue
    "#870C25",  # 9 maroon
)
_CMAP = ListedColormap(ARC_COLORS)
_GRID_LINE = "#555555"
_PANEL_INCHES = 2.2
_DPI = 100


def _draw_grid(ax, grid, label: str) -> None:
    """Draw one grid with cell borders, or a placeholder when ``grid`` is None."""
    ax.set_xticks([])
    ax.set_yticks([])
    if grid is None:
        ax.text(0.5, 0.5, "none", ha="center", va="center", transform=ax.transAxes, color="grey")
        ax.set_title(label, fontsize=9)
        return
    g = np.asarray(grid)
    rows, cols = g.shape
    # Fixed vmin/vmax so colour k is always palette entry k, whatever subset the grid uses.
    ax.imshow(g, cmap=_CMAP, vmin=-0.5, vmax=9.5, interpolation="nearest")
    # Minor ticks on cell edges give grid lines without drawing one artist per line.
    ax.set_xticks(np.arange(-0.5, cols, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, rows, 1), minor=True)
    ax.tick_params(which="minor", length=0)
    ax.grid(which="minor", color=_GRID_LINE, linewidth=0.5)
    ax.set_title(f"{label} {rows}x{cols}", fontsize=9)


def _pairs_and_code(task_or_pairs, code):
    """Accept a Task-like object (``inputs``/``outputs``/``code``) or a list of (input, output) pairs."""
    if hasattr(task_or_pairs, "inputs") and hasattr(task_or_pairs, "outputs"):
        pairs = list(zip(task_or_pairs.inputs, task_or_pairs.outputs))
        if code is None:
            code = getattr(task_or_pairs, "code", None)
    else:
        pairs = [tuple(pair) for pair in task_or_pairs]
    if not pairs:
        raise ValueError("nothing to plot: no input/output pairs")
    return pairs, code


def _save(fig: Figure, path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Figure.savefig on a bare Figure uses Agg, so no pyplot and no global backend switch.
    fig.savefig(path, dpi=_DPI, format="png")


def plot_task(task_or_pairs, path, code: str | None = None, title: str | None = None) -> None:
    """Save a PNG of every input -> output pair, with the code (if any) in monospace beside them."""
    pairs, code = _pairs_and_code(task_or_pairs, code)
    n = len(pairs)
    code_cols = 2 if code else 0
    fig = Figure(figsize=(_PANEL_INCHES * (2 + code_cols), _PANEL_INCHES * n + (0.4 if title else 0)))
    spec = fig.add_gridspec(n, 2 + code_cols)
    for i, (grid_in, grid_out) in enumerate(pairs):
        _draw_grid(fig.add_subplot(spec[i, 0]), grid_in, f"input {i + 1}")
        _draw_grid(fig.add_subplot(spec[i, 1]), grid_out, f"output {i + 1}")
    if code:
        ax = fig.add_subplot(spec[:, 2:])
        ax.axis("off")
        ax.text(0.0, 1.0, code.rstrip(), family="monospace", fontsize=8, va="top", ha="left", transform=ax.transAxes)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    _save(fig, path)


def plot_prediction(input, target, prediction, path, title: str | None = None) -> None:
    """Save a PNG of input, target and prediction side by side; the prediction may be None."""
    fig = Figure(figsize=(_PANEL_INCHES * 3, _PANEL_INCHES + 0.4))
    axes = fig.subplots(1, 3)
    _draw_grid(axes[0], input, "input")
    _draw_grid(axes[1], target, "target")
    if prediction is None:
        verdict = "prediction"
    else:
        correct = np.shape(prediction) == np.shape(target) and np.array_equal(prediction, target)
        verdict = "prediction (correct)" if correct else "prediction (wrong)"
    _draw_grid(axes[2], prediction, verdict)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    _save(fig, path)


def plot_speed(names: list[str], tokens_per_s: list[float | None], path) -> None:
    """Horizontal bars of real tokens/s per speed variant; a variant without a figure is a grey stub."""
    values = [v or 0 for v in tokens_per_s]
    fig = Figure(figsize=(8, 0.35 * max(len(names), 2) + 1.2))
    ax = fig.add_subplot()
    ax.barh(range(len(names)), values, color=["tab:blue" if v else "lightgray" for v in values])
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("real (non-padding) tokens/s")
    ax.set_title("training speed per option" if names else "training speed: not run")
    fig.tight_layout()
    _save(fig, path)


def plot_learning_curve(history: list[dict], path) -> None:
    """Train loss over steps from a trainer's log history, and the greedy solve rate where it was measured."""
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    loss = [(h["step"], h["loss"]) for h in history if "loss" in h and "step" in h]
    if loss:
        ax.plot(*zip(*loss), label="train loss", color="tab:blue")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    solve = [(h["step"], h["eval_solve_rate"]) for h in history if "eval_solve_rate" in h]
    if solve:
        twin = ax.twinx()
        twin.plot(*zip(*solve), "o-", color="tab:green", label="solve rate")
        twin.set_ylabel("greedy solve rate")
        twin.set_ylim(0, 1)
    ax.set_title("learning run" if loss else "learning run: no history")
    fig.tight_layout()
    _save(fig, path)
