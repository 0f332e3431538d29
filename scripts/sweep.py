"""`arc25-sweep` run from a checkout: python scripts/sweep.py --help (the code is arc25/commands/sweep.py)."""

from arc25.commands.sweep import cli

if __name__ == "__main__":
    raise SystemExit(cli())
