"""`arc25-benchmark-sandbox` run from a checkout: python scripts/benchmark_sandbox.py --help (the code is arc25/commands/benchmark_sandbox.py)."""

from arc25.commands.benchmark_sandbox import cli

if __name__ == "__main__":
    raise SystemExit(cli())
