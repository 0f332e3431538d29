"""`arc25-merge-lora` run from a checkout: python scripts/merge_lora.py --help (the code is arc25/commands/merge_lora.py)."""

from arc25.commands.merge_lora import cli

if __name__ == "__main__":
    raise SystemExit(cli())
