"""`arc25-benchmark-padding` run from a checkout: python scripts/benchmark_padding.py --help (the code is arc25/commands/benchmark_padding.py)."""

from arc25.commands.benchmark_padding import cli

if __name__ == "__main__":
    raise SystemExit(cli())
