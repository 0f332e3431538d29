"""The restricted runtime an untrusted program runs in: its builtins, module proxies and guards.

Every program starts from a namespace no other program has used: its own builtins dict, read-only
module proxies (holding only the names ``policy.ALLOWED_MODULES`` lists) and registry of the classes
it defines. (A program process's first program gets its copy of one built at start-up and never ran
anything in; later programs of a ``fresh="chunk"`` process get new ones.) This is a filter that keeps
honest mistakes and the known tricks out; what keeps one program from another is that each runs in
its own process, forked from a template that never held a job (``worker``). numpy is numbers only:
arrays of non-numeric dtypes (objects above all) are refused wherever a program could make or sort one. Known leak paths are closed at the root:
``copy.deepcopy`` takes no memo (a caller-supplied memo hands back the originals it keeps alive,
instance and proxy ``__dict__`` included), item stores refuse dunder string keys (a leaked dict
holding ``__array_interface__`` maps any address), ``hash`` refuses identity hashes (addresses), and
a program's classes get a ``repr`` without an address.
"""

from __future__ import annotations

import builtins
import copy
import importlib
import sys

import numpy as np

from arc25 import dsl
from arc25.programs.readonly import ReadOnlyModule
from arc25.sandbox.policy import ALLOWED_MODULES, DSL_MODULE

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


def _guarded_key(key):
    """The key of an item store the static check cannot see: no dunder strings (``__array_interface__``)."""
    if isinstance(key, str) and key.startswith("__"):
        raise KeyError(f"item keys starting with '__' are not allowed here: {key[:40]!r}")
    return key


def _identity_hashed(value, depth: int = 0) -> bool:
    """Whether ``hash(value)`` would mix in an object's address (object's default hash, anywhere in a tuple)."""
    if type(value).__hash__ is object.__hash__:
        return True
    if depth < 8 and type(value) in (tuple, frozenset):
        return any(_identity_hashed(item, depth + 1) for item in value)
    return False


def _safe_hash(value) -> int:
    """``hash`` without addresses: objects hashed by identity (functions, classes, plain instances) are refused."""
    if _identity_hashed(value):
        raise TypeError(f"hash() of {type(value).__name__} (hashed by its address) is not available here")
    return hash(value)


def _deepcopy(x):
    """``copy.deepcopy`` without the ``memo`` argument: a caller's memo would keep (and hand back) the originals."""
    return copy.deepcopy(x)


_deepcopy.__name__ = _deepcopy.__qualname__ = "deepcopy"


def _program_repr(self) -> str:
    return f"<{type(self).__name__} object>"


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


# --------------------------------------------------------------------------- numeric arrays only

# numpy arrays of Python objects (and of other non-numeric dtypes: str, bytes, void, datetime) are refused wherever
# a program could make or get one: an in-place sort of an object array calls the program's comparison while numpy
# holds raw pointers to the elements, and a comparison that empties the array leaves them dangling (a use-after-free
# that reaches everything in the process). The DSL never needs them. Defence in depth: what a program's process
# holds (nothing of another job) and the OS layers are the boundary.
_NUMERIC_KINDS = frozenset("biufc")  # bool, signed, unsigned, float, complex
_DTYPE_KEYWORDS = ("dtype", "otypes", "signature", "sctype")


def _refuse_array(value) -> None:
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in _NUMERIC_KINDS:
            raise TypeError(f"numpy arrays of dtype {value.dtype} are not available here (numbers only)")
    elif isinstance(value, np.generic):
        if value.dtype.kind not in _NUMERIC_KINDS:
            raise TypeError(f"numpy values of dtype {value.dtype} are not available here (numbers only)")


def _refuse_arrays(value, depth: int = 0) -> None:
    """Refuse a non-numeric array in ``value`` or, a few levels down, in the lists, tuples and dicts that hold it."""
    _refuse_array(value)
    if depth < 3 and type(value) in (list, tuple):
        for item in value[:64] if len(value) > 64 else value:
            _refuse_arrays(item, depth + 1)
        if len(value) > 64 and any(isinstance(item, (np.ndarray, np.generic)) for item in value):
            for item in value:
                _refuse_array(item)


def _refuse_dtype(value) -> None:
    """Refuse a dtype-like ``value`` (``object``, ``"O"``, ``str``, ``"U5"``, ``np.dtype("V8")``...) that is not numeric."""
    if value is None:
        return
    if type(value) in (list, tuple):  # vectorize's otypes
        for item in value:
            _refuse_dtype(item)
        return
    try:
        dtype = np.dtype(value)
    except (TypeError, ValueError, AttributeError, SyntaxError, OverflowError, RecursionError):
        return  # not a dtype: numpy will say what is wrong with it, if anything
    if dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise TypeError(f"numpy dtype {dtype} is not available here (numbers only)")


def _looks_like_dtype(value) -> bool:
    return isinstance(value, (type, np.dtype, str))


def _guarded(function, name: str):
    """``function`` (a numpy function) that refuses non-numeric dtypes and arrays, in its arguments and results."""

    def call(*args, **kwargs):
        for value in args:
            if _looks_like_dtype(value):
                _refuse_dtype(value)
            else:
                _refuse_arrays(value)
        for key, value in kwargs.items():
            if key in _DTYPE_KEYWORDS:
                _refuse_dtype(value)
            else:
                _refuse_arrays(value)
        result = function(*args, **kwargs)
        _refuse_arrays(result)
        if isinstance(result, np.vectorize):
            return _guarded(result, name)
        return result

    call.__name__ = call.__qualname__ = name
    call.__doc__ = getattr(function, "__doc__", None)
    return call


class _GuardedUfunc:
    """A numpy ufunc (``np.add``, ``np.maximum``...) and its methods (``reduce``, ``accumulate``, ``outer``, ``at``...),
    refusing non-numeric dtypes and arrays; other attributes (``nin``, ``identity``...) as they are."""

    def __init__(self, ufunc, name: str) -> None:
        self._call = _guarded(ufunc, name)
        self._ufunc = ufunc
        self._methods = {method: _guarded(getattr(ufunc, method), f"{name}.{method}")
                         for method in ("reduce", "accumulate", "reduceat", "outer", "at")}

    def __call__(self, *args, **kwargs):
        return self._call(*args, **kwargs)

    def __getattr__(self, name: str):
        method = self._methods.get(name)
        return method if method is not None else getattr(self._ufunc, name)

    def __repr__(self) -> str:
        return repr(self._ufunc)


def _guard_export(name: str, value):
    if isinstance(value, np.ufunc):
        return _GuardedUfunc(value, name)
    if value is np.vectorize:
        return _guarded(value, name)
    if callable(value) and not isinstance(value, type):
        return _guarded(value, name)
    return value  # a type (isinstance checks, scalar types), a constant, an index helper


def _dsl_guarded(name: str, value):
    """A DSL function that takes and returns numeric arrays only (the DSL is trusted code, but an array of objects
    handed to it could meet a sort); a light check, top level only, as the DSL is called in programs' inner loops."""
    if not callable(value) or isinstance(value, type):
        return value

    def call(*args, **kwargs):
        for item in args:
            if isinstance(item, np.ndarray) and item.dtype.kind not in _NUMERIC_KINDS:
                _refuse_array(item)
        for item in kwargs.values():
            if isinstance(item, np.ndarray) and item.dtype.kind not in _NUMERIC_KINDS:
                _refuse_array(item)
        result = value(*args, **kwargs)
        if isinstance(result, (np.ndarray, np.generic)):
            _refuse_array(result)
        elif type(result) in (list, tuple):
            for item in result:
                if isinstance(item, np.ndarray):
                    _refuse_array(item)
        return result

    call.__name__ = call.__qualname__ = name
    call.__doc__ = getattr(value, "__doc__", None)
    return call


# ndarray methods a program reaches through ``__arc_method__`` (``policy`` rewrites ``x.astype`` and the rest):
# those that make arrays of another dtype, and those whose C loops call back into Python for object elements.
_CONVERTING_METHODS = frozenset({"astype", "view"})


def _array_method(obj, name: str):
    """``obj.name`` for a program: refused on a non-numeric array; ``astype`` and ``view`` refuse non-numeric dtypes."""
    if isinstance(obj, (np.ndarray, np.generic)):
        _refuse_array(obj)
        if name in _CONVERTING_METHODS:
            return _guarded(getattr(obj, name), name)
    return getattr(obj, name)


# policy.ALLOWED_MODULES is the one list of what programs may import; every module in it is already loaded.
_MODULE_EXPORTS = {
    module: {name: getattr(importlib.import_module(module), name) for name in sorted(names)}
    for module, names in ALLOWED_MODULES.items()
}
_MODULE_EXPORTS["numpy"] = {name: _guard_export(name, value) for name, value in _MODULE_EXPORTS["numpy"].items()}
_MODULE_EXPORTS["numpy"]["ndarray"] = _SandboxNdarray
_MODULE_EXPORTS["copy"]["deepcopy"] = _deepcopy
_MODULE_EXPORTS[DSL_MODULE] = {name: _dsl_guarded(name, value) for name, value in _MODULE_EXPORTS[DSL_MODULE].items()}
_MODULE_EXPORTS[DSL_MODULE]["__all__"] = tuple(dsl.__all__)
_DSL_EXPORTS = {name: _MODULE_EXPORTS[DSL_MODULE][name] for name in dsl.__all__}
_FUTURE_STUB = ReadOnlyModule("__future__", {"annotations": None})

_SAFE_BUILTIN_NAMES = """
    abs all any ascii bin bool bytearray bytes callable chr complex dict divmod enumerate filter float
    format frozenset hash hex int isinstance issubclass iter len list map max min next oct ord range
    repr reversed round set slice sorted str sum tuple zip Ellipsis NotImplemented
    Exception ArithmeticError AssertionError AttributeError IndexError KeyError LookupError MemoryError
    NameError NotImplementedError OverflowError RecursionError RuntimeError StopIteration TypeError
    UnboundLocalError ValueError ZeroDivisionError
""".split()
_SAFE_BUILTINS = {name: getattr(builtins, name) for name in _SAFE_BUILTIN_NAMES}
_SAFE_BUILTINS.update(pow=_guarded_pow, print=_quiet_print, hash=_safe_hash)
_HELPERS = {
    "__arc_key__": _guarded_key,
    "__arc_pow__": _guarded_pow,
    "__arc_ipow__": _guarded_ipow,
    "__arc_lshift__": _guarded_lshift,
    "__arc_ilshift__": _guarded_ilshift,
    "__arc_method__": _array_method,
}


def _class_guards():
    """``__build_class__`` that records the program's classes, and the check that ``self`` is one of them."""
    classes: set = set()

    def build_class(func, name, *bases, **keywords):
        if keywords:
            raise TypeError("class keywords (metaclass=...) are not allowed")
        cls = builtins.__build_class__(func, name, *bases)
        if cls.__repr__ is object.__repr__:  # the default repr shows the object's address
            cls.__repr__ = _program_repr
        classes.add(cls)
        return cls

    def own_instance(obj) -> None:
        if type(obj) not in classes:
            raise TypeError("a method that sets attributes must be called on an instance of its own class")

    return build_class, own_instance


def _fresh_proxies() -> dict:
    return {module: ReadOnlyModule(module, exports) for module, exports in _MODULE_EXPORTS.items()}


def untrusted_namespace() -> dict:
    """A fresh namespace for one program run: new builtins, new proxies, nothing shared with another run."""
    proxies = _fresh_proxies()

    def restricted_import(name, globals=None, locals=None, fromlist=(), level=0):
        """An allowed module resolves to this namespace's proxy (the DSL only through ``from``, as the static
        check demands); never to a real module.

        numpy's C code also comes here: ``PyImport_Import`` (its lazy ``import
        numpy._core.arrayprint`` behind ``repr(array)``, say) calls the running frame's
        ``__import__``, discards the result and reads ``sys.modules``. So any other module that is
        already loaded gets ``None`` back (no module object flows out) and anything else is refused.
        """
        if level == 0:
            if name == "__future__" and fromlist:
                return _FUTURE_STUB
            proxy = proxies.get(name)
            if proxy is not None and (name != DSL_MODULE or fromlist):
                return proxy
            if isinstance(name, str) and name in sys.modules:
                return None
        raise ImportError(f"import of {name!r} is not allowed")

    build_class, own_instance = _class_guards()
    program_builtins = dict(_SAFE_BUILTINS)
    program_builtins.update(__import__=restricted_import, __build_class__=build_class)
    namespace = {
        "__builtins__": program_builtins,
        "__name__": "__arc25_program__",
        "__arc_own__": own_instance,
        "np": proxies["numpy"],
        "numpy": proxies["numpy"],
    }
    namespace.update(_HELPERS)
    namespace.update(_DSL_EXPORTS)
    return namespace
