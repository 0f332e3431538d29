"""The trusted in-process path: run our own generated programs fast, with no isolation.

The task generator's gate runs every sampled program through here thousands of times a second, so
compiled code objects are cached by source and each call gets a fresh namespace holding the DSL
names and a read-only ``np``. There is no isolation and no timeout: never pass it model output
(that goes to ``arc25.sandbox``).
"""

from __future__ import annotations

import builtins
import functools

import numpy as np

from arc25 import dsl
from arc25.programs.errors import PROGRAM_FILENAME, ExecutionMemoryError, ExecutionRuntimeError, InvalidProgram, describe, one_line
from arc25.programs.grids import as_input_grid, validate_grid
from arc25.programs.readonly import ReadOnlyModule

_NUMPY = ReadOnlyModule("numpy", {}, fallback=np)
_GLOBALS = {
    "__builtins__": builtins,
    "__name__": "__arc25_program__",
    "np": _NUMPY,
    "numpy": _NUMPY,
    **{name: getattr(dsl, name) for name in dsl.__all__},
}


@functools.lru_cache(maxsize=4096)
def _compile(code: str):
    """Code object for ``code``, or a string saying why it does not compile (errors are cached too)."""
    try:
        return compile(code, PROGRAM_FILENAME, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return one_line(f"not valid Python: {exc.msg} (line {exc.lineno})")
    except (ValueError, RecursionError, MemoryError) as exc:
        return one_line(f"cannot compile program: {describe(exc)}")


def execute_trusted(code: str, inputs, names: dict | None = None) -> list[np.ndarray]:
    """Run ``task`` from ``code`` on a copy of each input in this process; raise ``ExecutionError`` on failure.

    ``names`` replace DSL names in the program's namespace (the generator gate passes memoised pure functions).
    """
    if not isinstance(code, str):
        raise InvalidProgram(f"program source must be a str, got {type(code).__name__}")
    compiled = _compile(code)
    if isinstance(compiled, str):
        raise InvalidProgram(compiled)
    namespace = dict(_GLOBALS)
    if names:
        namespace.update(names)
    try:
        exec(compiled, namespace)  # noqa: S102 - trusted program
    except MemoryError:
        raise ExecutionMemoryError("module level ran out of memory") from None
    except (Exception, SystemExit, GeneratorExit) as exc:  # noqa: BLE001 - any failure is the program's
        raise ExecutionRuntimeError(one_line(f"module level raised {describe(exc)}")) from None
    task = namespace.get("task")
    if not callable(task):
        raise InvalidProgram("program defines no callable 'task'")
    outputs = []
    for grid in inputs:
        if isinstance(grid, np.ndarray) and grid.dtype == np.int64 and grid.ndim == 2 and grid.size:
            arg = grid.copy()
        else:
            arg = as_input_grid(grid)
        try:
            result = task(arg)
        except MemoryError:
            raise ExecutionMemoryError("task ran out of memory") from None
        except (Exception, SystemExit, GeneratorExit) as exc:  # noqa: BLE001
            raise ExecutionRuntimeError(one_line(f"task raised {describe(exc)}")) from None
        outputs.append(validate_grid(result))
    return outputs
