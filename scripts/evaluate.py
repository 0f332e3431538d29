"""`arc25-evaluate` run from a checkout: python scripts/evaluate.py --help (the code is arc25/commands/evaluate.py)."""

from arc25.commands.evaluate import cli

if __name__ == "__main__":
    raise SystemExit(cli())
