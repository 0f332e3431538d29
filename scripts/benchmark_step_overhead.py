"""`arc25-benchmark-step-overhead` run from a checkout: python scripts/benchmark_step_overhead.py --help (the code is arc25/commands/benchmark_step_overhead.py)."""

from arc25.commands.benchmark_step_overhead import cli

if __name__ == "__main__":
    raise SystemExit(cli())
