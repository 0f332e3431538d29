"""`arc25-plot-sweep` run from a checkout: python scripts/plot_sweep.py --help (the code is arc25/commands/plot_sweep.py)."""

from arc25.commands.plot_sweep import cli

if __name__ == "__main__":
    raise SystemExit(cli())
