"""arc25: fine-tune language models to solve ARC tasks by writing programs.

The packages, lowest layer first (each imports only from layers below it; ``tests/test_layout.py`` holds that):
``dsl`` (the drawing and seeing functions programs call) < ``programs`` (errors, grid checks, the trusted runner)
< ``tasks`` (worlds, generators, families, canonical code, task sets) and ``sandbox`` (untrusted programs)
< ``prompts``, ``models``, ``arc`` < ``cli`` < ``infer``, ``train`` < ``her`` < ``commands`` (every console command).

Two walks to read first:

- a training sample, generator to loss: ``tasks/generators.py`` (or ``families.py``) → ``tasks/canonical.py`` →
  ``prompts/encoders.py`` → ``prompts/prompting.py`` → ``prompts/chat.py`` → ``train/data.py`` → ``train/trainer.py``;
- a program, model to score: ``infer/generation.py`` → ``prompts/prompting.py`` (``parse_code``) →
  ``sandbox/pool.py`` → ``sandbox/wire.py`` → ``sandbox/worker.py`` (with ``confinement.py`` and ``policy.py``)
  → ``infer/scoring.py``.
"""

__version__ = "0.1.0"
