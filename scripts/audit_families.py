"""`arc25-audit-families` run from a checkout: python scripts/audit_families.py --help (the code is arc25/commands/audit_families.py)."""

from arc25.commands.audit_families import cli

if __name__ == "__main__":
    cli()
