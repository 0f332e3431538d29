"""The command-line convention every arc25 command follows, and the argument groups commands compose.

Holds: ``convention`` (``CliConfig``, ``parse``, ``fail``, recipes) and ``args`` (one declaration, help text and
check per flag). May import tasks, prompts and models (to check a flag's value); nothing that trains or infers.
"""

from arc25.cli.convention import DEFAULT_RANDOM_SEED, EXIT_BAD_INPUT, CliConfig, fail, load_recipe, parse

__all__ = ["DEFAULT_RANDOM_SEED", "EXIT_BAD_INPUT", "CliConfig", "fail", "load_recipe", "parse"]
