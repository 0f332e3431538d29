"""`arc25-gpu-report` run from a checkout: python scripts/gpu_report.py --help (the code is arc25/commands/gpu_report.py)."""

from arc25.commands.gpu_report import main

if __name__ == "__main__":
    raise SystemExit(main())
