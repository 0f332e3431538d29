"""Run ``def task(img): ... return img`` programs on grids, trusted or sandboxed.

Two paths:

* ``execute(code, inputs, untrusted=False)`` runs our own generated programs
  in-process. It is built for speed (the training-data gate calls it thousands
  of times a second): compiled code objects are cached by source and every
  call gets a fresh namespace holding the DSL names and a read-only ``np``.
  There is no isolation and no timeout on this path.

* Untrusted programs (anything a language model wrote) run in persistent
  sandbox worker processes (``Sandbox``; ``execute`` and ``execute_batch`` use
  a lazily created default pool). Layers, outermost first:

  1. the parent enforces a wall-clock deadline per program and kills the
     worker if it is passed; a dead worker is replaced and the program blamed;
  2. worker resource limits: address space (RLIMIT_AS), CPU seconds per
     program (RLIMIT_CPU), no core dumps, no file growth (RLIMIT_FSIZE = 0);
  3. the worker has stdin/stdout/stderr on /dev/null, sits in a deleted
     temporary directory, and ignores SIGINT (the parent handles Ctrl-C);
  4. an audit hook (``sys.addaudithook``), installed after start-up, refuses
     every audited event except a short allow-list: no open (read or write),
     import, socket, subprocess, os.*, ctypes, gc introspection, frame access,
     exec/compile of anything but the program itself, ...;
  5. a static AST check refuses imports other than numpy and the DSL,
     dunder names and attributes, attribute assignment, classes, async code,
     reflective builtins, numpy attributes outside a whitelist, and
     attributes such as ``ctypes``, ``tofile``, ``save*``, ``load*``, frames;
  6. the program sees restricted builtins and a read-only whitelisted numpy
     proxy; ``**`` and ``<<`` on Python ints are guarded against huge results;
  7. every program gets a fresh namespace, fresh proxies and a fresh
     ``contextvars`` context, so nothing leaks from one program to the next.

Results cross the process boundary as JSON headers plus raw bytes (never
pickle), and the parent re-validates every grid a worker sends back.

Workers are started with multiprocessing's "forkserver" method (never "fork":
callers may run torch threads), so a script that uses the sandbox needs the
usual ``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import ast
import builtins
import contextvars
import functools
import gc
import json
import math
import multiprocessing
import os
import signal
import string
import struct
import sys
import tempfile
import threading
import time
import warnings
import weakref
from collections import deque
from multiprocessing.connection import wait as _wait_for_ready

import numpy as np

from arc25 import dsl

try:
    import resource
except ImportError:  # not POSIX: the trusted path still works, sandbox workers cannot start
    resource = None

__all__ = [
    "ALLOWED_NUMPY_NAMES",
    "ExecutionError",
    "ExecutionMemoryError",
    "ExecutionRuntimeError",
    "ExecutionTimeout",
    "ForbiddenCode",
    "InvalidOutput",
    "InvalidProgram",
    "Sandbox",
    "check_program",
    "default_sandbox",
    "execute",
    "execute_batch",
    "validate_grid",
]

MAX_SIDE = dsl.MAX_SIDE
MAX_COLOR = 9
MAX_SOURCE_CHARS = 100_000
MAX_AST_NODES = 50_000
DEFAULT_MEMORY_LIMIT_MB = 1024


# --------------------------------------------------------------------------- errors


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


_ERROR_CLASSES = {
    cls.__name__: cls
    for cls in (
        ExecutionError,
        ExecutionTimeout,
        ExecutionMemoryError,
        ForbiddenCode,
        InvalidProgram,
        ExecutionRuntimeError,
        InvalidOutput,
    )
}
_MAX_MESSAGE_CHARS = 240


def _one_line(text: str, limit: int = _MAX_MESSAGE_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(exc: BaseException) -> str:
    """``TypeName: message`` on one line; never raises."""
    try:
        message = str(exc)
    except BaseException:  # noqa: BLE001 - a hostile __str__ must not escape
        message = "<unprintable>"
    name = type(exc).__name__
    return _one_line(f"{name}: {message}" if message else name)


# --------------------------------------------------------------------------- grids


def validate_grid(x) -> np.ndarray:
    """Return ``x`` as a fresh int64 grid, or raise ``InvalidOutput``.

    Accepts numpy arrays and nested lists/tuples that are 2-D, have sides
    1-30 and hold integer colours 0-9 (integral floats are accepted; bools,
    fractional floats, strings and object arrays are not).
    """
    if isinstance(x, np.ndarray):
        arr = x
    elif isinstance(x, (list, tuple)):
        try:
            arr = np.array(x)
        except (ValueError, TypeError, OverflowError):
            raise InvalidOutput("output is not a rectangular grid") from None
    else:
        raise InvalidOutput(f"output is {_one_line(type(x).__name__, 60)}, not a grid")
    if arr.ndim != 2:
        raise InvalidOutput(f"output has {arr.ndim} dimensions, expected 2")
    rows, cols = arr.shape
    if not (1 <= rows <= MAX_SIDE and 1 <= cols <= MAX_SIDE):
        raise InvalidOutput(f"output shape {rows}x{cols} is outside 1-{MAX_SIDE}")
    kind = arr.dtype.kind
    if kind == "f":
        if not np.isfinite(arr).all() or not (arr == np.trunc(arr)).all():
            raise InvalidOutput("output holds non-integer values")
    elif kind not in "iu":
        raise InvalidOutput(f"output dtype {arr.dtype} is not an integer type")
    low, high = arr.min(), arr.max()
    if low < 0 or high > MAX_COLOR:
        bad = low if low < 0 else high
        raise InvalidOutput(f"output colour {_one_line(repr(bad.item()), 40)} is outside 0-{MAX_COLOR}")
    return np.array(arr, dtype=np.int64)


def _as_input_grid(x) -> np.ndarray:
    """Inputs come from the caller, so a bad one is a caller bug (ValueError), not a program error."""
    arr = np.asarray(x)
    if arr.ndim != 2 or arr.dtype.kind not in "iu" or arr.size == 0:
        raise ValueError(f"inputs must be non-empty 2-D integer grids, got shape {arr.shape} dtype {arr.dtype}")
    return np.array(arr, dtype=np.int64)


def _is_grid_like(x) -> bool:
    if isinstance(x, np.ndarray):
        return x.ndim == 2
    if isinstance(x, (list, tuple)) and len(x) > 0:
        row = x[0]
        if isinstance(row, np.ndarray):
            return row.ndim == 1
        return isinstance(row, (list, tuple)) and (len(row) == 0 or not isinstance(row[0], (list, tuple, np.ndarray)))
    return False


# --------------------------------------------------------------------------- what programs may use

# numpy names an untrusted program may use (through a read-only proxy): array creation, shape
# manipulation, indexing helpers, logic, maths, set operations and dtypes. No I/O, no ctypes,
# no memmap, no submodules (random, lib, linalg, testing, ...), no global state setters.
ALLOWED_NUMPY_NAMES = frozenset(
    """
    array asarray ascontiguousarray copy zeros ones full empty zeros_like ones_like full_like
    empty_like arange linspace eye identity diag diagonal tri tril triu indices meshgrid fromfunction
    reshape ravel transpose swapaxes moveaxis expand_dims squeeze atleast_1d atleast_2d atleast_3d
    concatenate stack vstack hstack dstack column_stack split array_split hsplit vsplit tile repeat
    pad flip fliplr flipud rot90 roll resize broadcast_to broadcast_arrays block insert delete append
    trim_zeros where argwhere nonzero flatnonzero argmax argmin argsort sort lexsort searchsorted
    unique unique_values unique_counts isin count_nonzero all any array_equal array_equiv allclose
    isclose equal not_equal less less_equal greater greater_equal logical_and logical_or logical_not
    logical_xor bitwise_and bitwise_or bitwise_xor bitwise_not invert left_shift right_shift isnan
    isfinite isinf select choose extract put take take_along_axis put_along_axis compress clip
    fill_diagonal place putmask copyto sum prod cumsum cumprod mean median average std var min max
    amin amax ptp maximum minimum fmax fmin abs absolute sign negative positive add subtract multiply
    divide floor_divide true_divide mod remainder fmod divmod power sqrt square floor ceil round
    around rint trunc exp log log2 log10 sin cos tan arcsin arccos arctan arctan2 hypot degrees
    radians dot vdot matmul outer inner tensordot einsum kron cross gcd lcm bincount diff ediff1d
    histogram digitize convolve correlate nanmax nanmin nansum nanmean union1d intersect1d setdiff1d
    setxor1d ndarray dtype generic number integer signedinteger unsignedinteger floating bool bool_
    int_ intp uint int8 int16 int32 int64 uint8 uint16 uint32 uint64 float16 float32 float64
    newaxis inf nan pi e shape ndim size ndenumerate ndindex unravel_index ravel_multi_index ix_ s_
    vectorize apply_along_axis apply_over_axes iinfo finfo result_type can_cast promote_types
    issubdtype isscalar iterable
    """.split()
)


class _NdarrayCheck(type):
    """Metaclass of the ``np.ndarray`` programs see: isinstance works, construction does not.

    The real constructor accepts a raw ``buffer`` with an ``offset`` and an object dtype, which
    reads (and fakes) arbitrary memory; ``np.array``/``np.zeros``/... cover every honest use.
    """

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, np.ndarray)

    def __subclasscheck__(cls, sub) -> bool:
        return isinstance(sub, type) and issubclass(sub, np.ndarray)

    def __call__(cls, *args, **kwargs):
        raise TypeError("numpy.ndarray(...) cannot be called here; use np.array, np.zeros or np.full")


class _SandboxNdarray(metaclass=_NdarrayCheck):
    """Stands in for ``numpy.ndarray`` in sandboxed programs (isinstance checks and annotations)."""


_NUMPY_EXPORTS = {name: getattr(np, name) for name in sorted(ALLOWED_NUMPY_NAMES) if hasattr(np, name)}
_NUMPY_EXPORTS["ndarray"] = _SandboxNdarray
_DSL_EXPORTS = {name: getattr(dsl, name) for name in dsl.__all__}

# Builtin names that are never acceptable in a program, whatever they are bound to.
_FORBIDDEN_NAMES = frozenset(
    """
    eval exec compile open getattr setattr delattr hasattr globals locals vars breakpoint input help
    exit quit super object memoryview classmethod staticmethod property
    """.split()
)
# Dunder names a program may read.
_ALLOWED_DUNDER_NAMES = frozenset({"__name__"})
# Attributes that lead to files, foreign memory, frames, code objects, modules or reflection.
_FORBIDDEN_ATTRIBUTES = frozenset(
    """
    ctypes ctypeslib tofile dump dumps fromfile memmap lib f2py testing distutils mro format
    format_map with_traceback os sys builtins modules subprocess system popen environ getppid kill
    fork spawn exec eval compile globals locals frame frames code func im_func im_self
    """.split()
)
_NUMPY_ONLY_ATTRIBUTES = frozenset({"resize"})
_FORBIDDEN_ATTRIBUTE_PREFIXES = ("_", "save", "load", "gi_", "cr_", "ag_", "f_", "tb_", "co_")
_FORBIDDEN_NODES = {
    ast.ClassDef: "class definition",
    ast.AsyncFunctionDef: "async function",
    ast.Await: "await",
    ast.AsyncFor: "async for",
    ast.AsyncWith: "async with",
}
_DSL_MODULE = "arc25.dsl"


def _refuse(what: str, node: ast.AST | None = None) -> ForbiddenCode:
    line = getattr(node, "lineno", None)
    return ForbiddenCode(_one_line(f"{what} is not allowed" + (f" (line {line})" if line else "")))


def _check_name(name: str | None, node: ast.AST, *, load: bool = False) -> None:
    if name is None:
        return
    if name.startswith("__"):
        if load and name in _ALLOWED_DUNDER_NAMES:
            return
        raise _refuse(f"name {name!r}", node)
    if name in _FORBIDDEN_NAMES:
        raise _refuse(f"name {name!r}", node)


def _check_attribute(attr: str, node: ast.AST) -> None:
    if attr in _FORBIDDEN_ATTRIBUTES or attr.startswith(_FORBIDDEN_ATTRIBUTE_PREFIXES):
        raise _refuse(f"attribute {attr!r}", node)


def _check_tree(tree: ast.Module) -> None:
    """Walk the whole tree (iteratively: deep nesting cannot blow the stack) and refuse what is not allowed."""
    numpy_aliases = {"np", "numpy"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name != "numpy":
                    raise _refuse(f"import of {alias.name!r}", node)
                numpy_aliases.add(alias.asname or alias.name)
    n_nodes = 0
    for node in ast.walk(tree):
        n_nodes += 1
        if n_nodes > MAX_AST_NODES:
            raise ForbiddenCode(f"program has more than {MAX_AST_NODES} syntax nodes")
        kind = type(node)
        if kind in _FORBIDDEN_NODES:
            raise _refuse(_FORBIDDEN_NODES[kind], node)
        if kind is ast.Name:
            _check_name(node.id, node, load=isinstance(node.ctx, ast.Load))
        elif kind is ast.Attribute:
            if not isinstance(node.ctx, ast.Load):
                raise _refuse("attribute assignment or deletion", node)
            if node.attr == "format" and _is_safe_format_string(node.value):
                continue  # "literal {}".format(...): fields are checked, so no attribute traversal
            _check_attribute(node.attr, node)
            on_numpy = isinstance(node.value, ast.Name) and node.value.id in numpy_aliases
            if on_numpy and node.attr not in _NUMPY_EXPORTS:
                raise _refuse(f"numpy.{node.attr}", node)
            if node.attr in _NUMPY_ONLY_ATTRIBUTES and not on_numpy:
                # ndarray.resize(..., refcheck=False) frees memory that views still point to.
                raise _refuse(f"method {node.attr!r} (use np.{node.attr})", node)
        elif kind is ast.Import:
            for alias in node.names:
                _check_name(alias.asname, node)
        elif kind is ast.ImportFrom:
            _check_import_from(node)
        elif kind in (ast.FunctionDef, ast.Lambda):
            _check_name(getattr(node, "name", None), node)
        elif kind is ast.arg:
            _check_name(node.arg, node)
        elif kind is ast.keyword:
            _check_name(node.arg, node)
        elif kind is ast.ExceptHandler:
            _check_name(node.name, node)
        elif kind in (ast.Global, ast.Nonlocal):
            for name in node.names:
                _check_name(name, node)
        elif kind in (ast.MatchAs, ast.MatchStar):
            _check_name(node.name, node)
        elif kind is ast.MatchMapping:
            _check_name(node.rest, node)
        elif kind is ast.MatchClass:
            for attr in node.kwd_attrs:
                _check_attribute(attr, node)


def _is_safe_format_string(node: ast.expr) -> bool:
    """True for a str literal whose replacement fields use no attribute access (``{0.__class__}``)."""
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        return False
    pending = [node.value]
    try:
        while pending:
            for _, field, spec, _ in string.Formatter().parse(pending.pop()):
                if field is not None and ("." in field or "_" in field):
                    return False
                if spec and "{" in spec:
                    pending.append(spec)
    except ValueError:
        return False
    return True


def _check_import_from(node: ast.ImportFrom) -> None:
    if node.level:
        raise _refuse("relative import", node)
    names = [alias.name for alias in node.names]
    for alias in node.names:
        _check_name(alias.asname, node)
    if node.module == "numpy":
        for name in names:
            if name not in _NUMPY_EXPORTS:
                raise _refuse(f"import of numpy.{name}", node)
    elif node.module == _DSL_MODULE:
        for name in names:
            if name != "*" and name not in _DSL_EXPORTS:
                raise _refuse(f"import of {_DSL_MODULE}.{name}", node)
    elif node.module == "__future__":
        if names != ["annotations"]:
            raise _refuse("a __future__ import other than annotations", node)
    else:
        raise _refuse(f"import from {node.module!r}", node)


class _GuardArithmetic(ast.NodeTransformer):
    """Route ``**`` and ``<<`` through guards so that ``10**10**10`` fails fast instead of eating the CPU."""

    _BINARY = {ast.Pow: "__arc_pow__", ast.LShift: "__arc_lshift__"}
    _INPLACE = {ast.Pow: "__arc_ipow__", ast.LShift: "__arc_ilshift__"}

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        helper = self._BINARY.get(type(node.op))
        if helper is None:
            return node
        call = ast.Call(func=ast.Name(id=helper, ctx=ast.Load()), args=[node.left, node.right], keywords=[])
        return ast.copy_location(call, node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        helper = self._INPLACE.get(type(node.op))
        if helper is None:
            return node
        current = _as_load(node.target)
        call = ast.Call(func=ast.Name(id=helper, ctx=ast.Load()), args=[current, node.value], keywords=[])
        return ast.copy_location(ast.Assign(targets=[node.target], value=call), node)


def _as_load(target: ast.expr) -> ast.expr:
    if isinstance(target, ast.Name):
        return ast.copy_location(ast.Name(id=target.id, ctx=ast.Load()), target)
    if isinstance(target, ast.Subscript):
        return ast.copy_location(ast.Subscript(value=target.value, slice=target.slice, ctx=ast.Load()), target)
    raise _refuse("this augmented assignment target", target)


_PROGRAM_FILENAME = "<arc25-program>"


def _parse_and_check(code: str) -> ast.Module:
    if not isinstance(code, str):
        raise InvalidProgram(f"program source must be a str, got {type(code).__name__}")
    if len(code) > MAX_SOURCE_CHARS:
        raise ForbiddenCode(f"program is {len(code)} characters long (limit {MAX_SOURCE_CHARS})")
    try:
        tree = ast.parse(code, filename=_PROGRAM_FILENAME, mode="exec")
    except SyntaxError as exc:
        raise InvalidProgram(_one_line(f"not valid Python: {exc.msg} (line {exc.lineno})")) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise InvalidProgram(_one_line(f"cannot parse program: {_describe(exc)}")) from None
    _check_tree(tree)
    return tree


def check_program(code: str) -> None:
    """Static check only: raise ``InvalidProgram`` or ``ForbiddenCode`` if the sandbox would refuse ``code``."""
    _parse_and_check(code)


def _compile_untrusted(code: str):
    tree = _parse_and_check(code)
    try:
        tree = ast.fix_missing_locations(_GuardArithmetic().visit(tree))
        return compile(tree, _PROGRAM_FILENAME, "exec", dont_inherit=True)
    except ExecutionError:
        raise
    except (RecursionError, MemoryError, ValueError, SyntaxError) as exc:
        raise InvalidProgram(_one_line(f"cannot compile program: {_describe(exc)}")) from None


# --------------------------------------------------------------------------- restricted runtime

_MAX_INT_BITS = 1 << 17  # ~40k decimal digits: plenty for grids, far from a CPU or memory bomb


def _check_int_power(base, exponent) -> None:
    if (
        isinstance(base, int)
        and isinstance(exponent, int)
        and exponent > 1
        and abs(base).bit_length() * exponent > _MAX_INT_BITS
        and abs(base) > 1
    ):
        raise OverflowError("integer power result is too large")


def _check_int_shift(value, shift) -> None:
    if isinstance(value, int) and isinstance(shift, int) and value and abs(value).bit_length() + shift > _MAX_INT_BITS:
        raise OverflowError("integer shift result is too large")


def _guarded_pow(base, exponent, modulo=None):
    if modulo is None:
        _check_int_power(base, exponent)
        return base**exponent
    return pow(base, exponent, modulo)


def _guarded_ipow(base, exponent):
    _check_int_power(base, exponent)
    base **= exponent
    return base


def _guarded_lshift(value, shift):
    _check_int_shift(value, shift)
    return value << shift


def _guarded_ilshift(value, shift):
    _check_int_shift(value, shift)
    value <<= shift
    return value


def _quiet_print(*args, **kwargs) -> None:
    """``print`` for sandboxed programs: output goes nowhere and costs nothing."""


def _restricted_import(name, globals=None, locals=None, fromlist=(), level=0):
    """``__import__`` for sandboxed programs: numpy and the DSL resolve to the program's own proxies.

    Program import statements reach this only for the names the static check allows. numpy's C
    code also comes here: ``PyImport_Import`` (its lazy ``import numpy._core.arrayprint`` behind
    ``repr(array)``, say) calls the ``__import__`` of the running frame's builtins, discards the
    result and reads ``sys.modules``. So an already-loaded module gets ``None`` back (no module
    object flows out) and anything else is refused (the audit hook refuses loading too).
    """
    if level == 0 and isinstance(globals, dict):
        if name == "numpy":
            return globals["__arc_numpy__"]
        if name == _DSL_MODULE and fromlist:
            return globals["__arc_dsl__"]
        if name == "__future__" and fromlist:
            return _FUTURE_STUB
    if level == 0 and isinstance(name, str) and name in sys.modules:
        return None
    raise ImportError(f"import of {name!r} is not allowed")


class _ReadOnlyModule:
    """A module stand-in whose attributes cannot be set or deleted.

    With ``fallback`` (the trusted path) unknown attributes are fetched from
    the real module and cached; without it only the given attributes exist.
    """

    __slots__ = ("__dict__", "_fallback", "_label")

    def __init__(self, label: str, attributes: dict, fallback=None) -> None:
        object.__setattr__(self, "_label", label)
        object.__setattr__(self, "_fallback", fallback)
        self.__dict__.update(attributes)

    def __getattr__(self, name: str):
        fallback = object.__getattribute__(self, "_fallback")
        label = object.__getattribute__(self, "_label")
        if fallback is None:
            raise AttributeError(f"{label} has no attribute {name!r} here")
        value = getattr(fallback, name)
        self.__dict__[name] = value
        return value

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError(f"{object.__getattribute__(self, '_label')} is read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{object.__getattribute__(self, '_label')} is read-only")

    def __dir__(self):
        return sorted(self.__dict__)

    def __repr__(self) -> str:
        return f"<{object.__getattribute__(self, '_label')} (read-only)>"


_FUTURE_STUB = _ReadOnlyModule("__future__", {"annotations": None})

_SAFE_BUILTIN_NAMES = """
    abs all any ascii bin bool bytearray bytes callable chr complex dict divmod enumerate filter float
    format frozenset hash hex int isinstance issubclass iter len list map max min next oct ord range
    repr reversed round set slice sorted str sum tuple zip Ellipsis NotImplemented
    Exception ArithmeticError AssertionError AttributeError IndexError KeyError LookupError MemoryError
    NameError NotImplementedError OverflowError RecursionError RuntimeError StopIteration TypeError
    UnboundLocalError ValueError ZeroDivisionError
""".split()
_SAFE_BUILTINS = {name: getattr(builtins, name) for name in _SAFE_BUILTIN_NAMES}
_SAFE_BUILTINS.update(pow=_guarded_pow, print=_quiet_print, __import__=_restricted_import)
_UNTRUSTED_HELPERS = {
    "__arc_pow__": _guarded_pow,
    "__arc_ipow__": _guarded_ipow,
    "__arc_lshift__": _guarded_lshift,
    "__arc_ilshift__": _guarded_ilshift,
}


def _untrusted_namespace() -> dict:
    """A fresh namespace: new builtins dict, new numpy and DSL proxies, nothing shared that a program could change."""
    numpy_proxy = _ReadOnlyModule("numpy", _NUMPY_EXPORTS)
    dsl_proxy = _ReadOnlyModule(_DSL_MODULE, {**_DSL_EXPORTS, "__all__": tuple(_DSL_EXPORTS)})
    namespace = {
        "__builtins__": dict(_SAFE_BUILTINS),
        "__name__": "__arc25_program__",
        "__arc_numpy__": numpy_proxy,
        "__arc_dsl__": dsl_proxy,
        "np": numpy_proxy,
        "numpy": numpy_proxy,
    }
    namespace.update(_UNTRUSTED_HELPERS)
    namespace.update(_DSL_EXPORTS)
    return namespace


# --------------------------------------------------------------------------- trusted path

_TRUSTED_NUMPY = _ReadOnlyModule("numpy", {}, fallback=np)
_TRUSTED_GLOBALS = {
    "__builtins__": builtins,
    "__name__": "__arc25_program__",
    "np": _TRUSTED_NUMPY,
    "numpy": _TRUSTED_NUMPY,
    **_DSL_EXPORTS,
}


@functools.lru_cache(maxsize=4096)
def _compile_trusted(code: str):
    """Code object for ``code``, or a string saying why it does not compile (errors are cached too)."""
    try:
        return compile(code, _PROGRAM_FILENAME, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return _one_line(f"not valid Python: {exc.msg} (line {exc.lineno})")
    except (ValueError, RecursionError, MemoryError) as exc:
        return _one_line(f"cannot compile program: {_describe(exc)}")


def _execute_trusted(code: str, inputs) -> list[np.ndarray]:
    if not isinstance(code, str):
        raise InvalidProgram(f"program source must be a str, got {type(code).__name__}")
    compiled = _compile_trusted(code)
    if isinstance(compiled, str):
        raise InvalidProgram(compiled)
    namespace = dict(_TRUSTED_GLOBALS)
    try:
        exec(compiled, namespace)  # noqa: S102 - trusted program
    except MemoryError:
        raise ExecutionMemoryError("module level ran out of memory") from None
    except (Exception, SystemExit, GeneratorExit) as exc:  # noqa: BLE001 - any failure is the program's
        raise ExecutionRuntimeError(_one_line(f"module level raised {_describe(exc)}")) from None
    task = namespace.get("task")
    if not callable(task):
        raise InvalidProgram("program defines no callable 'task'")
    outputs = []
    for grid in inputs:
        if isinstance(grid, np.ndarray) and grid.dtype == np.int64 and grid.ndim == 2 and grid.size:
            arg = grid.copy()
        else:
            arg = _as_input_grid(grid)
        try:
            result = task(arg)
        except MemoryError:
            raise ExecutionMemoryError("task ran out of memory") from None
        except (Exception, SystemExit, GeneratorExit) as exc:  # noqa: BLE001
            raise ExecutionRuntimeError(_one_line(f"task raised {_describe(exc)}")) from None
        outputs.append(validate_grid(result))
    return outputs


# --------------------------------------------------------------------------- wire format
# Every message is a 4-byte header length, a JSON header and raw grid bytes. JSON and raw bytes
# are safe to decode whatever a (possibly compromised) worker sends; pickle would not be.

_MAX_REPLY_BYTES = 4 << 20


def _pack(header: dict, blob: bytes = b"") -> bytes:
    head = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<I", len(head)) + head + blob


def _unpack(data: bytes) -> tuple[dict, memoryview]:
    (size,) = struct.unpack_from("<I", data, 0)
    header = json.loads(bytes(data[4 : 4 + size]))
    if not isinstance(header, dict):
        raise ValueError("message header is not an object")
    return header, memoryview(data)[4 + size :]


def _encode_input_set(grids: list[np.ndarray]) -> tuple[list[list[int]], bytes]:
    shapes = [[int(g.shape[0]), int(g.shape[1])] for g in grids]
    return shapes, b"".join(g.astype("<i8", copy=False).tobytes() for g in grids)


def _decode_grids(shapes, blob, offset: int, dtype: str, itemsize: int) -> tuple[list[np.ndarray], int]:
    grids = []
    for rows, cols in shapes:
        count = rows * cols
        grids.append(np.frombuffer(blob, dtype=dtype, count=count, offset=offset).reshape(rows, cols))
        offset += count * itemsize
    return grids, offset


# --------------------------------------------------------------------------- worker process


class _Timeout(BaseException):
    """Raised inside the worker by the wall-clock alarm."""


class _SandboxRefusal(PermissionError):
    """Raised by the worker's audit hook."""


class _WorkerState:
    def __init__(self) -> None:
        self.sealed = False  # audit hook active
        self.internal = False  # our own compile/setrlimit calls are allowed while set
        self.exec_token = None  # the one code object the hook lets exec() run next
        self.alarm_armed = False
        self.timed_out = False
        self.violation: str | None = None


_WORKER: _WorkerState | None = None
_ALARM_REPEAT_S = 0.02  # after the deadline the alarm keeps firing, so swallowing it once does not help
_ALLOWED_EVENTS = frozenset({"builtins.id", "time.sleep", "sys.unraisablehook", "array.__new__"})
_WORKER_RECURSION_LIMIT = 3000

_WARMUP_PROGRAM = """
import numpy as np
from arc25.dsl import create_img, draw_line

def helper(values):
    return [v * 2 for v in values if v % 2 == 0]

def task(img):
    out = np.where(np.rot90(np.flip(img), 2) > 4, img, 0)
    rows, cols = out.shape
    draw_line(out, (0, 0), (rows - 1, cols - 1), 3)
    flood_fill(out, (0, cols - 1), 4)
    draw_rectangle(out, (0, 0), (1, 1), 2)
    total = sum(helper(range(5))) + 2 ** 3 + (1 << 2)
    try:
        {}["missing"]
    except KeyError as exc:
        str(exc)
    print("quiet", total, repr(out), str(out), f"{out}", repr(np.int64(3)), str(1.5))
    return out
"""


@functools.lru_cache(maxsize=512)
def _worker_prepare(code: str):
    """Parse, check and compile in the worker (cached by source); returns a code object or (error class, message)."""
    state = _WORKER
    state.internal = True
    try:
        return _compile_untrusted(code)
    except ExecutionError as exc:
        return (type(exc).__name__, str(exc))
    finally:
        state.internal = False


def _worker_run_program(state: _WorkerState, code: str, grids: list[np.ndarray]):
    """Run one program on all grids; returns ("ok", outputs) or ("err", class name, message)."""
    phase = "module level"
    try:
        prepared = _worker_prepare(code)
        if isinstance(prepared, tuple):
            return ("err", *prepared)
        namespace = _untrusted_namespace()
        state.exec_token = prepared
        try:
            exec(prepared, namespace)  # noqa: S102 - checked, compiled and sandboxed above
        finally:
            state.exec_token = None
        task = namespace.get("task")
        if not callable(task):
            return ("err", "InvalidProgram", "program defines no callable 'task'")
        outputs = []
        for grid in grids:
            phase = "task"
            result = task(grid.copy())
            phase = "output"
            outputs.append(validate_grid(result))
        return ("ok", outputs)
    except _Timeout:
        raise
    except ExecutionError as exc:
        return ("err", type(exc).__name__, str(exc))
    except MemoryError:
        return ("err", "ExecutionMemoryError", f"{phase} ran out of memory")
    except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt, GeneratorExit included
        return ("err", "ExecutionRuntimeError", f"{phase} raised {_describe(exc)}")


def _worker_job(state: _WorkerState, code: str, grids: list[np.ndarray], timeout_s: float) -> tuple[dict, bytes, bool]:
    """Run one job under the alarm and the CPU limit; returns (reply header without id, grid bytes, retire?)."""
    state.timed_out = False
    state.violation = None
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu_soft = int(used.ru_utime + used.ru_stime + timeout_s) + 2
    state.internal = True
    try:
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        resource.setrlimit(resource.RLIMIT_CPU, (min(cpu_soft, hard) if hard >= 0 else cpu_soft, hard))
    finally:
        state.internal = False
    result = None
    try:
        try:
            state.alarm_armed = True
            signal.setitimer(signal.ITIMER_REAL, timeout_s, _ALARM_REPEAT_S)
            result = contextvars.copy_context().run(_worker_run_program, state, code, grids)
            gc.collect()  # run leftover finalizers now, under this program's clock
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0, 0)
            state.alarm_armed = False
    except _Timeout:
        state.timed_out = True
    except MemoryError:
        result = ("err", "ExecutionMemoryError", "program ran out of memory")
    except BaseException as exc:  # noqa: BLE001
        result = ("err", "ExecutionRuntimeError", _describe(exc))
    retire = False
    if state.violation is not None:
        result = ("err", "ForbiddenCode", f"sandbox refused the operation {state.violation!r}")
        retire = True
    elif state.timed_out:
        result = ("err", "ExecutionTimeout", f"program exceeded the {timeout_s:g} s time limit")
    elif result is None:
        result = ("err", "ExecutionRuntimeError", "program produced no result")
    if result[0] == "ok":
        outputs = result[1]
        header = {"ok": True, "shapes": [[int(o.shape[0]), int(o.shape[1])] for o in outputs]}
        return header, b"".join(o.astype(np.uint8).tobytes() for o in outputs), retire
    if result[1] == "ExecutionMemoryError":
        retire = True  # a fresh process beats trusting one that hit its memory limit mid-way
    return {"ok": False, "err": result[1], "msg": _one_line(result[2])}, b"", retire


def _process_vm_bytes() -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _install_audit_hook(state: _WorkerState) -> None:
    def hook(event: str, args: tuple) -> None:
        if not state.sealed or event in _ALLOWED_EVENTS:
            return
        if event == "exec":
            if state.exec_token is not None and args and args[0] is state.exec_token:
                state.exec_token = None  # one use only
                return
        elif event in ("compile", "resource.setrlimit"):
            if state.internal:
                return
        elif event == "open":
            # A SyntaxError looks for its source line in a file named like the program; there is none.
            if state.internal and args and args[0] == _PROGRAM_FILENAME:
                return
        if state.violation is None:
            state.violation = event
        raise _SandboxRefusal(f"sandbox refused {event!r}")

    sys.addaudithook(hook)


def _worker_setup(state: _WorkerState, memory_limit_mb: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    def on_alarm(signum, frame):
        if state.alarm_armed:
            state.timed_out = True
            raise _Timeout()

    signal.signal(signal.SIGALRM, on_alarm)
    warnings.simplefilter("ignore")
    sys.setrecursionlimit(_WORKER_RECURSION_LIMIT)

    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    sys.stdin = open(os.devnull)  # noqa: SIM115 - lives as long as the worker
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115
    for key in list(os.environ):
        del os.environ[key]
    workdir = tempfile.mkdtemp(prefix="arc25-sandbox-")
    os.chdir(workdir)
    os.rmdir(workdir)  # the cwd no longer exists: nothing can be created in it

    # Warm up before sealing so that lazy imports and caches happen now, not under the hook.
    grid = np.arange(25, dtype=np.int64).reshape(5, 5) % 10
    header, _, _ = _worker_job(state, _WARMUP_PROGRAM, [grid], 5.0)
    if not header.get("ok"):
        raise RuntimeError(f"warm-up program failed: {header}")

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    vm = _process_vm_bytes()
    if vm is not None and memory_limit_mb > 0:
        limit = vm + memory_limit_mb * (1 << 20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    _worker_prepare.cache_clear()
    gc.collect()
    gc.freeze()  # start-up objects move to the permanent generation: per-program gc.collect() stays cheap
    _install_audit_hook(state)
    state.sealed = True
    header, _, _ = _worker_job(state, _WARMUP_PROGRAM, [grid], 5.0)
    if not header.get("ok"):
        raise RuntimeError(f"warm-up program failed under the audit hook: {header}")


def _worker_main(conn, memory_limit_mb: int) -> None:
    """Entry point of a sandbox worker process: set up, say ready, then run chunks until the pipe closes."""
    global _WORKER
    state = _WORKER = _WorkerState()
    try:
        _worker_setup(state, memory_limit_mb)
    except BaseException as exc:  # noqa: BLE001
        try:
            conn.send_bytes(_pack({"fatal": _describe(exc)}))
        finally:
            os._exit(3)
    conn.send_bytes(_pack({"ready": True}))
    while True:
        try:
            header, blob = _unpack(conn.recv_bytes())
        except (EOFError, OSError):
            os._exit(0)
        timeout_s = float(header["timeout"])
        sets = []
        offset = 0
        for shapes in header["sets"]:
            grids, offset = _decode_grids(shapes, blob, offset, "<i8", 8)
            sets.append(grids)
        for job_id, code, set_index in header["jobs"]:
            reply, out_blob, retire = _worker_job(state, code, sets[set_index], timeout_s)
            reply["id"] = job_id
            if retire:
                reply["retire"] = True
            conn.send_bytes(_pack(reply, out_blob))
            if retire:
                os._exit(0)


# --------------------------------------------------------------------------- parent side: the pool

_STARTUP_TIMEOUT_S = 120.0
_MAX_CHUNK = 16
_MAX_STARTUP_FAILURES = 3


def _grace_s(timeout_s: float) -> float:
    """Extra wall-clock time the parent allows before killing a worker (the in-worker alarm comes first)."""
    return 0.5 + 0.5 * timeout_s


def _configure_forkserver(ctx) -> None:
    """Ask the forkserver (if not yet running) to preload this module, so new workers fork ready-made."""
    if ctx.get_start_method() != "forkserver":
        return
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    current = list(getattr(server, "_preload_modules", None) or ["__main__"])
    if __name__ not in current:
        ctx.set_forkserver_preload(current + [__name__])


class _Worker:
    __slots__ = ("conn", "deadline", "pending", "process", "ready", "started")

    def __init__(self, process, conn) -> None:
        self.process = process
        self.conn = conn
        self.ready = False
        self.pending: deque[int] = deque()
        self.deadline = math.inf
        self.started = time.monotonic()


def _stop_worker(worker: _Worker, *, kill: bool) -> None:
    try:
        worker.conn.close()
    except OSError:
        pass
    process = worker.process
    try:
        if kill and process.is_alive():
            process.kill()
        process.join(1.0 if kill else 0.5)
        if process.is_alive():
            process.kill()
            process.join(1.0)
    except (AssertionError, ValueError, OSError):
        pass  # not our child (we were forked) or already gone


def _shutdown_workers(workers: list, owner_pid: int) -> None:
    if os.getpid() != owner_pid:
        workers.clear()
        return
    for worker in workers:
        try:
            worker.conn.close()  # EOF: an idle worker exits on its own
        except OSError:
            pass
    for worker in workers:
        _stop_worker(worker, kill=False)
    workers.clear()


def _exit_error(exitcode) -> ExecutionError:
    if exitcode is not None and exitcode < 0:
        sig = -exitcode
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        if sig == getattr(signal, "SIGXCPU", None):
            return ExecutionTimeout("program exceeded its CPU time limit")
        if sig == signal.SIGKILL:
            return ExecutionMemoryError("sandbox worker was killed (probably out of memory)")
        return ExecutionRuntimeError(f"sandbox worker crashed ({name})")
    return ExecutionRuntimeError(f"sandbox worker exited unexpectedly (exit code {exitcode})")


class Sandbox:
    """A pool of persistent sandbox worker processes for untrusted programs.

    Use it as a context manager (or call ``close``) to keep workers alive
    across many ``execute`` / ``execute_batch`` calls. Workers start lazily,
    up to ``n_workers`` (default ``os.cpu_count()``). Calls are serialised by
    a lock, so a Sandbox may be shared between threads.
    """

    def __init__(
        self,
        n_workers: int | None = None,
        *,
        memory_limit_mb: int = DEFAULT_MEMORY_LIMIT_MB,
        start_method: str = "forkserver",
    ) -> None:
        if start_method not in ("forkserver", "spawn"):
            raise ValueError("start_method must be 'forkserver' or 'spawn' (fork is unsafe with threads)")
        self.n_workers = max(1, int(n_workers or os.cpu_count() or 1))
        self.memory_limit_mb = int(memory_limit_mb)
        self._ctx = multiprocessing.get_context(start_method)
        _configure_forkserver(self._ctx)
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._closed = False
        self._finalizer = weakref.finalize(self, _shutdown_workers, self._workers, self._pid)

    # -- lifecycle

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Stop all workers (waits for a run in progress on another thread); idempotent."""
        with self._lock:
            self._closed = True
            self._finalizer()

    # -- public API

    def execute(self, code: str, inputs, *, timeout_s: float = 1.0) -> list[np.ndarray]:
        """Run one untrusted program on ``inputs``; raise its ``ExecutionError`` if it fails.

        ``timeout_s`` bounds the whole program (module code plus ``task`` on every input).
        """
        result = self._execute_many([code], None, [list(inputs)], timeout_s, None)[0]
        if isinstance(result, ExecutionError):
            raise result
        return result

    def execute_batch(
        self, programs: list[str], inputs, *, timeout_s: float = 1.0, n_workers: int | None = None
    ) -> list[list[np.ndarray] | ExecutionError]:
        """Run many untrusted programs; per program, the outputs or the ``ExecutionError`` (never raised).

        ``inputs`` is one list of grids shared by all programs, or one such list per program.
        ``n_workers`` caps the workers used by this call (the pool grows if it asks for more).
        """
        programs = list(programs)
        inputs = list(inputs)
        if inputs and not _is_grid_like(inputs[0]):
            if len(inputs) != len(programs):
                raise ValueError(f"got {len(inputs)} input lists for {len(programs)} programs")
            return self._execute_many(programs, None, inputs, timeout_s, n_workers)
        return self._execute_many(programs, inputs, None, timeout_s, n_workers)

    def _execute_many(self, programs, shared, per_program, timeout_s, n_workers) -> list:
        if not (isinstance(timeout_s, (int, float)) and 0 < timeout_s < math.inf):
            raise ValueError(f"timeout_s must be a positive finite number, got {timeout_s!r}")
        # Input sets are encoded once each; programs that share a list object share its encoding.
        sets: list[tuple[list, bytes, int]] = []
        set_of_job: list[int] = []
        if per_program is None:
            shapes, blob = _encode_input_set([_as_input_grid(g) for g in shared])
            sets.append((shapes, blob, len(shapes)))
            set_of_job = [0] * len(programs)
        else:
            seen: dict[int, int] = {}
            for grids in per_program:
                key = id(grids)
                if key not in seen:
                    shapes, blob = _encode_input_set([_as_input_grid(g) for g in grids])
                    seen[key] = len(sets)
                    sets.append((shapes, blob, len(shapes)))
                set_of_job.append(seen[key])
        results: list = [None] * len(programs)
        runnable = []
        for index, code in enumerate(programs):
            if not isinstance(code, str):
                results[index] = InvalidProgram(f"program source must be a str, got {type(code).__name__}")
            elif len(code) > MAX_SOURCE_CHARS:
                results[index] = ForbiddenCode(f"program is {len(code)} characters long (limit {MAX_SOURCE_CHARS})")
            else:
                runnable.append(index)
        if runnable:
            limit = max(1, int(n_workers)) if n_workers else self.n_workers
            with self._lock:
                if self._closed:
                    raise RuntimeError("Sandbox is closed")
                if os.getpid() != self._pid:
                    raise RuntimeError("a Sandbox cannot be used from a forked child process")
                self.n_workers = max(self.n_workers, limit)
                self._run(programs, runnable, set_of_job, sets, results, float(timeout_s), limit)
        return results

    # -- scheduler

    def _spawn(self) -> _Worker:
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=_worker_main, args=(child_conn, self.memory_limit_mb), name="arc25-sandbox", daemon=True
        )
        process.start()
        child_conn.close()
        worker = _Worker(process, parent_conn)
        self._workers.append(worker)
        return worker

    def _retire(self, worker: _Worker, queue: deque, *, kill: bool) -> None:
        """Drop a worker; jobs it had not started go back to the front of the queue."""
        while worker.pending:
            queue.appendleft(worker.pending.pop())
        if worker in self._workers:
            self._workers.remove(worker)
        _stop_worker(worker, kill=kill)

    def _run(self, programs, runnable, set_of_job, sets, results, timeout_s, limit) -> None:
        queue: deque[int] = deque(runnable)
        remaining = len(runnable)
        grace = _grace_s(timeout_s)
        failures = 0
        last_failure = ""

        def finish(job: int, value) -> None:
            nonlocal remaining
            if results[job] is None:
                results[job] = value
                remaining -= 1

        def blame_current(worker: _Worker, error: ExecutionError) -> None:
            if worker.pending:
                finish(worker.pending.popleft(), error)

        def handle_message(worker: _Worker, data: bytes) -> str:
            """Returns "keep", "retire" (worker goes, nobody to blame) or "broken" (worker goes)."""
            nonlocal failures, last_failure
            try:
                header, blob = _unpack(data)
            except (ValueError, struct.error, UnicodeDecodeError, RecursionError):
                blame_current(worker, ExecutionRuntimeError("sandbox worker sent a malformed reply"))
                return "broken"
            if not worker.ready:
                if header.get("ready") is True:
                    worker.ready = True
                    failures = 0
                    return "keep"
                last_failure = _one_line(str(header.get("fatal", "no ready message")))
                return "broken"
            if not worker.pending or header.get("id") != worker.pending[0]:
                blame_current(worker, ExecutionRuntimeError("sandbox worker sent an unexpected reply"))
                return "broken"
            job = worker.pending[0]
            try:
                value = self._decode_reply(header, blob, sets[set_of_job[job]][2])
            except (ValueError, TypeError, KeyError):
                blame_current(worker, ExecutionRuntimeError("sandbox worker sent a malformed reply"))
                return "broken"
            finish(worker.pending.popleft(), value)
            worker.deadline = time.monotonic() + timeout_s + grace
            return "retire" if header.get("retire") is True else "keep"

        try:
            while remaining:
                # Top up the pool, then hand a chunk to every idle worker.
                wanted = min(limit, len(queue) + sum(1 for w in self._workers if w.pending))
                while len(self._workers) < wanted:
                    self._spawn()
                idle = [w for w in self._workers if w.ready and not w.pending]
                for worker in idle:
                    if not queue:
                        break
                    size = max(1, min(_MAX_CHUNK, len(queue) // (4 * max(1, len(idle)))))
                    chunk = [queue.popleft() for _ in range(min(size, len(queue)))]
                    used_sets = sorted({set_of_job[j] for j in chunk})
                    local = {s: i for i, s in enumerate(used_sets)}
                    message = _pack(
                        {
                            "timeout": timeout_s,
                            "sets": [sets[s][0] for s in used_sets],
                            "jobs": [[j, programs[j], local[set_of_job[j]]] for j in chunk],
                        },
                        b"".join(sets[s][1] for s in used_sets),
                    )
                    worker.pending.extend(chunk)
                    worker.deadline = time.monotonic() + timeout_s + grace
                    try:
                        worker.conn.send_bytes(message)
                    except OSError:
                        self._retire(worker, queue, kill=True)  # it died idle: nothing to blame
                if not remaining:
                    break

                now = time.monotonic()
                deadlines = [w.deadline for w in self._workers if w.ready and w.pending]
                deadlines += [w.started + _STARTUP_TIMEOUT_S for w in self._workers if not w.ready]
                wait_s = max(0.0, min(deadlines, default=now + 1.0) - now)
                handles = {}
                for worker in self._workers:
                    handles[worker.conn] = worker
                    handles[worker.process.sentinel] = worker
                ready = _wait_for_ready(list(handles), timeout=min(wait_s, 5.0))
                touched = []
                for handle in ready:
                    worker = handles[handle]
                    if worker not in touched:
                        touched.append(worker)
                for worker in touched:
                    if worker not in self._workers:
                        continue
                    status = "keep"
                    try:
                        while status == "keep" and worker.conn.poll():
                            status = handle_message(worker, worker.conn.recv_bytes(_MAX_REPLY_BYTES))
                    except EOFError:
                        status = "dead"
                    except OSError:  # e.g. an oversized message
                        status = "dead" if not worker.process.is_alive() else "oversized"
                    if status == "keep" and not worker.process.is_alive():
                        status = "dead"
                    if status == "oversized":
                        blame_current(worker, ExecutionRuntimeError("sandbox worker sent a malformed reply"))
                    elif status == "dead":
                        worker.process.join(0.5)
                        if worker.ready:
                            blame_current(worker, _exit_error(worker.process.exitcode))
                        else:
                            last_failure = f"worker exited during start-up (exit code {worker.process.exitcode})"
                    if status != "keep":
                        if not worker.ready:
                            failures += 1
                        self._retire(worker, queue, kill=True)

                now = time.monotonic()
                for worker in list(self._workers):
                    if worker.ready and worker.pending and now > worker.deadline:
                        if worker.conn.poll():
                            continue  # a reply is waiting: read it before judging
                        blame_current(worker, ExecutionTimeout(f"program exceeded the {timeout_s:g} s time limit"))
                        self._retire(worker, queue, kill=True)
                    elif not worker.ready and now > worker.started + _STARTUP_TIMEOUT_S:
                        failures += 1
                        last_failure = "worker did not start in time"
                        self._retire(worker, queue, kill=True)
                if failures >= _MAX_STARTUP_FAILURES:
                    raise RuntimeError(f"sandbox workers fail to start: {last_failure}")
        finally:
            # Interrupted (Ctrl-C, start-up failure): busy workers hold stale work; drop them.
            for worker in list(self._workers):
                if worker.pending:
                    self._retire(worker, deque(), kill=True)

    @staticmethod
    def _decode_reply(header: dict, blob: memoryview, n_grids: int):
        if header.get("ok") is True:
            shapes = header["shapes"]
            if not isinstance(shapes, list) or len(shapes) != n_grids:
                raise ValueError("wrong number of grids")
            for shape in shapes:
                if not (
                    isinstance(shape, list)
                    and len(shape) == 2
                    and all(type(side) is int and 1 <= side <= MAX_SIDE for side in shape)
                ):
                    raise ValueError("bad grid shape")
            if len(blob) != sum(r * c for r, c in shapes):
                raise ValueError("grid bytes do not match shapes")
            grids, _ = _decode_grids(shapes, blob, 0, "u1", 1)
            outputs = [g.astype(np.int64) for g in grids]
            if any(int(g.max()) > MAX_COLOR for g in outputs):
                raise ValueError("bad colour")
            return outputs
        cls = _ERROR_CLASSES.get(header.get("err"))
        message = header.get("msg")
        if cls is None or cls is ExecutionError or not isinstance(message, str):
            raise ValueError("bad error reply")
        return cls(_one_line(message))


# --------------------------------------------------------------------------- module-level API

_DEFAULT_SANDBOX: Sandbox | None = None
_DEFAULT_LOCK = threading.Lock()


def default_sandbox() -> Sandbox:
    """The module's shared pool (created on first use, closed at interpreter exit)."""
    global _DEFAULT_SANDBOX
    with _DEFAULT_LOCK:
        sandbox = _DEFAULT_SANDBOX
        if sandbox is None or sandbox.closed or sandbox._pid != os.getpid():
            sandbox = _DEFAULT_SANDBOX = Sandbox()
        return sandbox


def execute(
    code: str,
    inputs: list[np.ndarray],
    *,
    untrusted: bool = True,
    timeout_s: float = 1.0,
    sandbox: Sandbox | None = None,
) -> list[np.ndarray]:
    """Run ``task`` from ``code`` on a copy of each input and return the validated outputs.

    ``untrusted=False`` runs in-process with no isolation and no timeout (our own programs only).
    Otherwise the program runs in ``sandbox`` (default: the shared pool); ``timeout_s`` bounds
    the whole program (module code plus ``task`` on every input).
    Raises an ``ExecutionError`` subclass when the program fails.
    """
    if not untrusted:
        return _execute_trusted(code, inputs)
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
