"""`arc25-report-ambiguity` run from a checkout: python scripts/report_ambiguity.py --help (the code is arc25/commands/report_ambiguity.py)."""

from arc25.commands.report_ambiguity import cli

if __name__ == "__main__":
    raise SystemExit(cli())
