"""`arc25-benchmark-data` run from a checkout: python scripts/benchmark_data.py --help (the code is arc25/commands/benchmark_data.py)."""

from arc25.commands.benchmark_data import cli

if __name__ == "__main__":
    raise SystemExit(cli())
