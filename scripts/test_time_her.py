"""`arc25-test-time-her` run from a checkout: python scripts/test_time_her.py --help (the code is arc25/commands/test_time_her.py)."""

from arc25.commands.test_time_her import main

if __name__ == "__main__":
    raise SystemExit(main())
