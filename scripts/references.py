"""`arc25-references` run from a checkout: python scripts/references.py --help (the code is arc25/commands/references.py)."""

from arc25.commands.references import cli

if __name__ == "__main__":
    cli()
