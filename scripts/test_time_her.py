"""Test-time hindsight training on a task set: the command's logic and flags live in arc25.her.cli (see --help)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from arc25.her.cli import main as run

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
