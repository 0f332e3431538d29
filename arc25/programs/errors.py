"""Errors a program run can end in, and the one-line messages that describe them."""

from __future__ import annotations


class ExecutionError(Exception):
    """Base class: running a program failed (the program's fault, not the caller's)."""


class ExecutionTimeout(ExecutionError):
    """The program ran past its time limit."""


class ExecutionMemoryError(ExecutionError):
    """The program ran out of memory (or its worker was killed for it)."""


class ForbiddenCode(ExecutionError):
    """The static check (or the sandbox) refused the program."""


class InvalidProgram(ExecutionError):
    """The source is not valid Python or defines no callable ``task``."""


class ExecutionRuntimeError(ExecutionError):
    """The program raised an exception (or crashed its worker)."""


class InvalidOutput(ExecutionError):
    """The program returned something that is not a grid."""


# Only these may be named in a worker's reply: anything else is a malformed reply.
ERROR_CLASSES = {
    cls.__name__: cls
    for cls in (ExecutionTimeout, ExecutionMemoryError, ForbiddenCode, InvalidProgram, ExecutionRuntimeError, InvalidOutput)
}
MAX_MESSAGE_CHARS = 240
# The file name a program's code objects carry: tracebacks and the sandbox's checks recognise its frames by it.
PROGRAM_FILENAME = "<arc25-program>"


def one_line(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` as one line of at most ``limit`` printable characters.

    A program writes its own error messages, and they end up in the caller's terminal, logs and files:
    a lone surrogate (which no encoder takes) would crash whoever prints or writes it, and control
    characters (ESC sequences) or bidi overrides would rewrite what the reader sees. So whitespace runs
    become one space and anything else that is not printable becomes "?".
    """
    text = " ".join(str(text).split())
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    if not text.isprintable():
        text = "".join(char if char.isprintable() else "?" for char in text)
    return text


def describe(exc: BaseException) -> str:
    """``TypeName: message`` on one line; never raises."""
    try:
        message = str(exc)
    except BaseException:  # noqa: BLE001 - a hostile __str__ must not escape
        message = "<unprintable>"
    name = type(exc).__name__
    return one_line(f"{name}: {message}" if message else name)
