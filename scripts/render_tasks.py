"""Render the first N tasks of a task stream to PNG files for eyeballing generators."""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

# Let the script run from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and write one PNG per task into the output folder."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=0, help="task stream seed")
    parser.add_argument("--n", type=int, default=8, help="how many tasks to render")
    parser.add_argument("--out", type=Path, required=True, help="folder for the PNG files")
    parser.add_argument("--mixture", default="default", help="generator mixture name")
    args = parser.parse_args(argv)

    # Imported here so the script's CLI works (e.g. --help) even while the generators change.
    from arc25.plot import plot_task
    from arc25.tasks import task_stream

    args.out.mkdir(parents=True, exist_ok=True)
    for i, task in enumerate(itertools.islice(task_stream(args.seed, args.mixture), args.n)):
        path = args.out / f"task_{i:03d}_{task.generator}.png"
        plot_task(task, path, title=f"seed {args.seed} #{i}: {task.generator} ({task.n_draws} draws)")
        print(path)


if __name__ == "__main__":
    main()
