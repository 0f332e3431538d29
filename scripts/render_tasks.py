"""`arc25-render-tasks` run from a checkout: python scripts/render_tasks.py --help (the code is arc25/commands/render_tasks.py)."""

from arc25.commands.render_tasks import cli

if __name__ == "__main__":
    raise SystemExit(cli())
