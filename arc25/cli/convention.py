"""The one command-line convention every arc25 entry point follows.

A CLI is a dataclass that subclasses ``CliConfig``, usually by composing the argument groups of ``arc25.cli.args``
(one declaration, help and check per flag, shared by every command). One field is one flag (tyro turns
``output_dir`` into ``--output-dir`` and the field's docstring into its help), and ``validate()`` holds every check
that needs no heavy work, raising a one-line ``ValueError``. ``parse(Cls)`` reads the flags, optionally on top of a
recipe (``--config FILE.yaml``, trl's convention: the file gives defaults, flags override them), validates, and on
bad input prints ``error: <one line>`` to stderr and exits with status 2 (tyro's own status for an unknown flag).
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import io
import re
import sys
import types
import typing
from pathlib import Path
from typing import Literal, TypeVar

__all__ = ["CliConfig", "DEFAULT_RANDOM_SEED", "EXIT_BAD_INPUT", "fail", "load_recipe", "parse"]

EXIT_BAD_INPUT = 2
# One default seed for every command, so a run's solve-rate tasks are the ones evaluate.py picks by default.
DEFAULT_RANDOM_SEED = 7
T = TypeVar("T", bound="CliConfig")

# tyro builds the dataclass before we can catch its errors; parse() validates afterwards to print one line.
_DEFER_VALIDATION: contextvars.ContextVar[bool] = contextvars.ContextVar("arc25_defer_validation", default=False)


class CliConfig:
    """Base for CLI dataclasses: validated on construction, except while parse() is building one."""

    def __post_init__(self):
        if not _DEFER_VALIDATION.get():
            self.check()

    def check(self) -> None:
        """Every check: choices of Literal fields (here, once for all CLIs), then the class's validate()."""
        self.check_choices()
        self.validate()

    def check_choices(self) -> None:
        """A one-line ValueError for a Literal field holding a value it does not allow."""
        for name, kind in typing.get_type_hints(type(self)).items():
            choices = _choices(kind)
            value = getattr(self, name, None)
            if choices and value is not None and value not in choices:
                # A recipe's unquoted no/yes/off/on arrives as a bool (YAML 1.1): say so, or False looks like a bug.
                hint = " (YAML reads unquoted no, yes, off and on as booleans: quote the value)" if (
                    isinstance(value, bool) and not any(isinstance(c, bool) for c in choices)) else ""
                raise ValueError(f"--{name.replace('_', '-')} {value!r} is not one of "
                                 f"{', '.join(map(str, choices))}{hint}")

    def validate(self) -> None:
        """Raise a one-line ValueError for any bad value that can be seen without loading anything heavy."""


def _choices(kind) -> tuple:
    """The values a Literal (or Optional Literal) annotation allows; () for any other type."""
    if typing.get_origin(kind) is Literal:
        return typing.get_args(kind)
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        return tuple(c for arg in typing.get_args(kind) for c in _choices(arg))
    return ()


def fail(message: str) -> None:
    """Exit the way every arc25 CLI exits on bad input."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(EXIT_BAD_INPUT)


_BOX = re.compile(r"[\u2500-\u257f]+")


def _one_line(report: str) -> str:
    """tyro's boxed, wrapped parse error as one line (the help pointer dropped: --help is always there)."""
    lines = [_BOX.sub(" ", line).strip() for line in report.splitlines()]
    kept = [line for line in lines if line and not line.startswith("For full helptext") and not line.endswith("--help")]
    # The box's title only names the kind of error that its body goes on to state.
    kept = kept[1:] if len(kept) > 1 else kept
    return " ".join(" ".join(kept).split()) + " (see --help)"


def _pop_config(args: list[str]) -> tuple[str | None, list[str]]:
    rest, path = [], None
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--config":
            if i + 1 >= len(args):
                raise ValueError("--config needs a YAML file: --config FILE.yaml")
            path = args[i + 1]
            i += 2
            continue
        if arg.startswith("--config="):
            path = arg.split("=", 1)[1]
        else:
            rest.append(arg)
        i += 1
    return path, rest


def load_recipe(cls: type[T], path: str | Path) -> dict:
    """A recipe's values as field name -> value; unknown keys fail with one line naming them."""
    import yaml

    file = Path(path)
    if not file.is_file():
        raise ValueError(f"--config {str(path)!r} is not a file (give a YAML recipe, e.g. configs/recipes/*.yaml)")
    try:
        data = yaml.safe_load(file.read_text()) or {}
    except yaml.YAMLError as err:
        raise ValueError(f"--config {str(path)!r} is not valid YAML: {str(err).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ValueError(f"--config {str(path)!r} must hold a mapping of flag: value, got {type(data).__name__}")
    fields = {f.name for f in dataclasses.fields(cls)}
    values = {str(k).replace("-", "_"): v for k, v in data.items()}
    unknown = sorted(k for k in values if k not in fields)
    if unknown:
        raise ValueError(f"--config {str(path)!r} has unknown key(s) {', '.join(unknown)}; keys are this command's "
                         f"flags without the dashes (see --help)")
    return values


def _recipe_default(cls: type[T], values: dict, args: list[str]) -> T:
    """The recipe as tyro's default instance: fields it leaves out that have no default stay required."""
    import tyro

    for name, value in list(values.items()):
        flag = "--" + name.replace("_", "-")
        # A repeatable flag appends to its default; given on the command line, it replaces the recipe's list.
        if isinstance(value, list) and any(a == flag or a.startswith(flag + "=") for a in args):
            del values[name]
    for f in dataclasses.fields(cls):
        if f.name not in values and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            values[f.name] = tyro.MISSING
    default = cls(**values)
    # Before tyro sees them: it would only warn about a recipe value outside a Literal's choices.
    default.check_choices()
    return default


def parse(cls: type[T], args: list[str] | None = None, *, description: str | None = None) -> T:
    """Flags (and an optional ``--config FILE.yaml`` recipe under them) -> a validated ``cls``; bad input exits 2."""
    import tyro

    args = list(sys.argv[1:] if args is None else args)
    token = _DEFER_VALIDATION.set(True)
    try:
        try:
            path, args = _pop_config(args)
            default = _recipe_default(cls, load_recipe(cls, path), args) if path else None
        except (ValueError, TypeError) as err:
            fail(str(err))
        recipe_note = "\n\nA recipe gives defaults that flags override: --config FILE.yaml (keys = flag names)."
        stderr = io.StringIO()
        try:
            with contextlib.redirect_stderr(stderr):
                cfg = tyro.cli(cls, args=args, default=default,
                               description=(description or cls.__doc__ or "") + recipe_note)
        except SystemExit as exit_:
            if exit_.code in (0, None):
                raise
            fail(_one_line(stderr.getvalue()))
    finally:
        _DEFER_VALIDATION.reset(token)
    try:
        cfg.check()
    except ValueError as err:
        fail(str(err))
    return cfg
