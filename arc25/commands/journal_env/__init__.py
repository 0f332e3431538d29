"""Code that runs inside the research journal's own environment (its old trl/transformers), started by
scripts/journal_baseline.py; it imports nothing from arc25, whose name is the journal's package there."""
