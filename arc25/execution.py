"""Kept for old imports: everything lives in ``arc25.sandbox`` (and the trusted path in ``arc25.trusted``)."""

from arc25.sandbox import (
    ALLOWED_MODULES,
    ALLOWED_NUMPY_NAMES,
    ExecutionError,
    ExecutionMemoryError,
    ExecutionRuntimeError,
    ExecutionTimeout,
    ForbiddenCode,
    InvalidOutput,
    InvalidProgram,
    Isolation,
    Sandbox,
    check_program,
    default_sandbox,
    execute,
    execute_batch,
    isolation,
    validate_grid,
)

__all__ = [
    "ALLOWED_MODULES", "ALLOWED_NUMPY_NAMES", "ExecutionError", "ExecutionMemoryError", "ExecutionRuntimeError",
    "ExecutionTimeout", "ForbiddenCode", "InvalidOutput", "InvalidProgram", "Isolation", "Sandbox", "check_program",
    "default_sandbox", "execute", "execute_batch", "isolation", "validate_grid",
]
