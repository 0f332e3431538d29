"""`arc25-learning-ladder` run from a checkout: python scripts/learning_ladder.py --help (the code is arc25/commands/learning_ladder.py)."""

from arc25.commands.learning_ladder import cli

if __name__ == "__main__":
    raise SystemExit(cli())
