"""Sampling speed: predictions per second of each way to draw many replies to one prompt, on a loaded model.

    arc25-benchmark-sampling --task-set squares:1 --n-high-temperature 64 --output-dir runs/bench-sampling
    arc25-benchmark-sampling --model-path runs/small/final --benchmark-methods generate,shared-prefill,continuous-batching

The command is test-time HER's (``scripts/test_time_her.py --benchmark-sampling``): the same model, prompt and
sampling flags, so the figures are those of the loop's sampler. It writes ``<output-dir>/benchmark.json``.
"""

from __future__ import annotations

import sys


def cli(argv: list[str] | None = None) -> None:
    """arc25-benchmark-sampling: test-time HER's command in its benchmark mode; bad input exits 2 with one line."""
    from arc25.commands.test_time_her import main

    argv = list(sys.argv[1:] if argv is None else argv)
    sys.exit(main([*argv, "--benchmark-sampling"]))


if __name__ == "__main__":
    cli()
