"""`arc25-journal-baseline` run from a checkout: python scripts/journal_baseline.py --help (the code is arc25/commands/journal_baseline.py)."""

from arc25.commands.journal_baseline import main

if __name__ == "__main__":
    raise SystemExit(main())
