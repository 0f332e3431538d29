"""`arc25-search` run from a checkout: python scripts/search.py --help (the code is arc25/commands/search.py)."""

from arc25.commands.search import cli

if __name__ == "__main__":
    cli()
