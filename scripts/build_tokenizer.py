"""`arc25-build-tokenizer` run from a checkout: python scripts/build_tokenizer.py --help (the code is arc25/commands/build_tokenizer.py)."""

from arc25.commands.build_tokenizer import cli

if __name__ == "__main__":
    raise SystemExit(cli())
