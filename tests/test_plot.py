"""PNG rendering of tasks and predictions."""

from __future__ import annotations

import numpy as np
import pytest

from arc25.infer.plot import plot_learning_curve, plot_prediction, plot_speed, plot_task
from arc25.tasks import Task

def assert_png(path) -> None:
    """A real picture: it decodes, and shows more than a blank canvas."""
    from matplotlib.image import imread

    pixels = imread(path)
    assert pixels.ndim == 3 and min(pixels.shape[:2]) > 100
    assert len(np.unique(pixels.reshape(-1, pixels.shape[2]), axis=0)) > 2


def hand_task() -> Task:
    rng = np.random.default_rng(2)
    inputs = [rng.integers(0, 10, size=(30, 30)), np.zeros((1, 1), dtype=int), rng.integers(0, 10, size=(3, 7))]
    outputs = [rng.integers(0, 10, size=(30, 30)), np.ones((1, 1), dtype=int), rng.integers(0, 10, size=(7, 3))]
    code = "def task(img):\n    draw_pixel(img, (0, 0), color=1)\n    return img\n"
    return Task(inputs=inputs, outputs=outputs, code=code, generator="hand", n_draws=1)


def test_plot_task_writes_png(tmp_path):
    path = tmp_path / "nested" / "task.png"
    plot_task(hand_task(), path, title="hand-made")
    assert_png(path)


def test_plot_pairs_with_and_without_code(tmp_path):
    grid = np.arange(10).reshape(2, 5)
    plot_task([(grid, grid.T)], tmp_path / "bare.png")
    plot_task([(grid, grid.T)], str(tmp_path / "coded.png"), code="def task(img):\n    return img")
    assert_png(tmp_path / "bare.png")
    assert_png(tmp_path / "coded.png")


def test_plot_task_rejects_no_pairs(tmp_path):
    with pytest.raises(ValueError):
        plot_task([], tmp_path / "empty.png")


@pytest.mark.parametrize("prediction", [None, "same", "wrong", "other_shape"])
def test_plot_prediction_writes_png(tmp_path, prediction):
    grid = np.array([[0, 1, 2], [3, 4, 5]])
    target = grid[::-1].copy()
    predictions = {None: None, "same": target.copy(), "wrong": grid, "other_shape": np.zeros((4, 4), dtype=int)}
    path = tmp_path / f"pred_{prediction}.png"
    plot_prediction(grid, target, predictions[prediction], path, title="eval")
    assert_png(path)


@pytest.mark.parametrize("empty", [False, True])
def test_report_charts_write_png_with_or_without_figures(tmp_path, empty):
    names, speeds = ([], []) if empty else (["lora/mixture/plain", "lora/mixture/liger"], [1234.5, None])
    plot_speed(names, speeds, tmp_path / "speed.png")
    history = [] if empty else [{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.5, "eval_solve_rate": 0.25}]
    plot_learning_curve(history, tmp_path / "learning.png")
    assert_png(tmp_path / "speed.png")
    assert_png(tmp_path / "learning.png")
