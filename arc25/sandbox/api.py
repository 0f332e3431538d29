"""The module-level API: a shared default pool, ``execute``, ``execute_batch`` and ``isolation``."""

from __future__ import annotations

import os
import threading

import numpy as np

from arc25.programs.errors import ExecutionError
from arc25.sandbox.confinement import Isolation
from arc25.sandbox.pool import Sandbox

_DEFAULT_SANDBOX: Sandbox | None = None
_DEFAULT_LOCK = threading.Lock()


def default_sandbox() -> Sandbox:
    """The shared pool (created on first use in each process, closed at interpreter exit)."""
    global _DEFAULT_SANDBOX
    with _DEFAULT_LOCK:
        sandbox = _DEFAULT_SANDBOX
        if sandbox is None or sandbox.closed or sandbox.owner_pid != os.getpid():
            sandbox = _DEFAULT_SANDBOX = Sandbox()
        return sandbox


def execute(code: str, inputs: list[np.ndarray], *, timeout_s: float = 1.0, sandbox: Sandbox | None = None) -> list[np.ndarray]:
    """Run the untrusted program ``code`` on a copy of each input in ``sandbox`` (default: the shared pool) and
    return the validated outputs; ``timeout_s`` bounds the whole program (module code plus ``task`` on every
    input). Raises an ``ExecutionError`` subclass when the program fails. Our own generated programs, which need
    no isolation, go to ``arc25.programs.trusted.execute_trusted`` instead."""
    return (sandbox or default_sandbox()).execute(code, inputs, timeout_s=timeout_s)


def execute_batch(
    programs: list[str],
    inputs,
    *,
    timeout_s: float = 1.0,
    n_workers: int | None = None,
    sandbox: Sandbox | None = None,
) -> list[list[np.ndarray] | ExecutionError]:
    """Run many untrusted programs on persistent sandbox workers.

    ``inputs`` is one list of grids shared by all programs or one list per program. Returns, per
    program, its outputs or the ``ExecutionError`` describing its failure (never raised).
    """
    return (sandbox or default_sandbox()).execute_batch(programs, inputs, timeout_s=timeout_s, n_workers=n_workers)


def isolation(sandbox: Sandbox | None = None) -> Isolation:
    """Which OS isolation layers the workers of ``sandbox`` (default: the shared pool) run under."""
    return (sandbox or default_sandbox()).isolation()
