"""`arc25-benchmark-sampling` run from a checkout: python scripts/benchmark_sampling.py --help (the code is arc25/commands/benchmark_sampling.py)."""

from arc25.commands.benchmark_sampling import cli

if __name__ == "__main__":
    raise SystemExit(cli())
