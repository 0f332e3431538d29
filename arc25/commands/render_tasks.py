"""Render the first N tasks of a task stream to PNG files for eyeballing generators.

    arc25-render-tasks --random-seed 0 --n 8 --output-dir runs/demo/tasks
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from arc25.cli import DEFAULT_RANDOM_SEED, CliConfig, parse


@dataclass
class Args(CliConfig):
    output_dir: str
    """Folder for the PNG files."""
    random_seed: int = DEFAULT_RANDOM_SEED
    """Task stream seed."""
    n: int = 8
    """How many tasks to render."""
    mixture: str = "default"
    """Task mixture: a registered name or weighted generators 'one_empty:2,three_random:1'."""

    def validate(self) -> None:
        from arc25.tasks import make_mixture

        if self.n < 1:
            raise ValueError(f"--n must be >= 1, got {self.n}")
        make_mixture(self.mixture)


def main(args: Args) -> None:
    from arc25.infer.plot import plot_task
    from arc25.tasks import task_stream

    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    for i, task in enumerate(itertools.islice(task_stream(args.random_seed, args.mixture), args.n)):
        path = out / f"task_{i:03d}_{task.generator}.png"
        plot_task(task, path, title=f"seed {args.random_seed} #{i}: {task.generator} ({task.n_draws} draws)")
        print(path)


def cli(argv: list[str] | None = None) -> None:
    """arc25-render-tasks: bad input exits 2 with one line."""
    main(parse(Args, argv, description=__doc__))


if __name__ == "__main__":
    cli()
