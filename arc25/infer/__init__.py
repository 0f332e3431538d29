"""Inference: prompts to programs, programs to scores, scores to reports.

Holds: ``generation`` (greedy and sampled completions), ``scoring`` (run candidates in the sandbox, score),
``evaluation`` (a model on a task set), ``report`` (tables, JSON lines, CSV) and ``plot`` (PNG renders). Imports
the layers below (cli, models, prompts, tasks, sandbox, programs, dsl); never ``arc25.train`` or commands.
"""
