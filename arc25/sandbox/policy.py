"""What an untrusted program may say and what it runs with: the static AST check, the compile step that adds
runtime guards, and the restricted namespace (builtins, module proxies, guards) each program starts from.

The check is a whitelist over syntax: imports of the few harmless modules of ``ALLOWED_MODULES`` (the
one place they are listed) and only their listed names; no dunder names or
attributes except the dunder methods of the program's own classes; attribute assignment only on
``self`` inside those methods (guarded at run time, see ``own_instance``); no async code,
reflective builtins or attributes that lead to files, foreign memory, frames or code objects.

The runtime half: every program starts from a namespace no other program has used: its own builtins dict,
read-only module proxies (holding only the names ``ALLOWED_MODULES`` lists) and registry of the classes it
defines. (A program process's first program gets its copy of one built at start-up and never ran anything in;
later programs of a ``fresh="chunk"`` process get new ones.) numpy is numbers only: arrays of non-numeric dtypes
(objects above all) are refused wherever a program could make or sort one. Known leak paths are closed at the
root: ``copy.deepcopy`` takes no memo (a caller-supplied memo hands back the originals it keeps alive, instance
and proxy ``__dict__`` included), item stores refuse dunder string keys (a leaked dict holding
``__array_interface__`` maps any address), ``hash`` refuses identity hashes (addresses), and a program's classes
get a ``repr`` without an address.

Both halves are a filter that keeps honest mistakes and the known tricks out and programs from reaching the
worker's internals. What keeps one program from another is that each runs in its own process, forked from a
template that never held a job (``worker``); what keeps a worker that got past the filter from reaching anything
else is the operating system (``confinement``).
"""

from __future__ import annotations

import ast
import builtins
import copy
import importlib
import itertools
import math
import string
import sys

import numpy as np

from arc25 import dsl
from arc25.programs.readonly import ReadOnlyModule
from arc25.programs.errors import PROGRAM_FILENAME, ExecutionError, ForbiddenCode, InvalidProgram, describe, one_line

MAX_SOURCE_CHARS = 100_000
MAX_AST_NODES = 50_000
DSL_MODULE = "arc25.dsl"

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


def _public(module) -> frozenset:
    return frozenset(name for name in dir(module) if not name.startswith("_"))


# The standard modules programs may import, and the names of each they may use. Everything listed is
# pure computation; left out are the few names that write to other objects (functools.update_wrapper
# and wraps set attributes on any object, which would let one program mark state for the next).
ALLOWED_MODULES: dict[str, frozenset] = {
    "numpy": frozenset(name for name in ALLOWED_NUMPY_NAMES if hasattr(np, name)),
    DSL_MODULE: frozenset(dsl.__all__),
    "math": _public(math),
    "itertools": _public(itertools),
    "collections": frozenset("ChainMap Counter OrderedDict defaultdict deque namedtuple".split()),
    "functools": frozenset("cache cmp_to_key lru_cache partial reduce total_ordering".split()),
    "copy": frozenset({"copy", "deepcopy"}),
    "typing": frozenset(
        "Any Callable Dict FrozenSet Generator Iterable Iterator List Optional Sequence Set Tuple Union".split()
    ),
}
# Modules a plain ``import X`` may bind (the DSL is only ever imported with ``from``).
_IMPORTABLE = frozenset(ALLOWED_MODULES) - {DSL_MODULE}

# Builtin names that are never acceptable in a program, whatever they are bound to.
_FORBIDDEN_NAMES = frozenset(
    """
    eval exec compile open getattr setattr delattr hasattr globals locals vars breakpoint input help
    exit quit super object memoryview classmethod staticmethod property
    """.split()
)
_ALLOWED_DUNDER_NAMES = frozenset({"__name__"})
# Dunder methods a program's own class may define: the ones helper classes need, none that run at
# odd times (__del__), intercept attribute access or hook class creation.
ALLOWED_DUNDER_METHODS = frozenset(
    """
    __init__ __repr__ __str__ __eq__ __ne__ __lt__ __le__ __gt__ __ge__ __hash__ __len__ __iter__
    __next__ __getitem__ __setitem__ __contains__ __call__ __add__ __sub__ __mul__ __neg__ __bool__
    """.split()
)
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
    ast.AsyncFunctionDef: "async function",
    ast.Await: "await",
    ast.AsyncFor: "async for",
    ast.AsyncWith: "async with",
}
if hasattr(ast, "TypeAlias"):  # Python 3.12+: ``type X = ...`` binds a name the walk below does not visit
    _FORBIDDEN_NODES[ast.TypeAlias] = "a type alias statement"
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def _refuse(what: str, node: ast.AST | None = None) -> ForbiddenCode:
    line = getattr(node, "lineno", None)
    return ForbiddenCode(one_line(f"{what} is not allowed" + (f" (line {line})" if line else "")))


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


def _binds(node: ast.AST, name: str) -> bool:
    """Whether ``node`` (not its children) binds ``name`` in the scope it sits in."""
    if isinstance(node, ast.Name):
        return node.id == name and not isinstance(node.ctx, ast.Load)
    if isinstance(node, (ast.Global, ast.Nonlocal)):
        return name in node.names
    if isinstance(node, (ast.MatchAs, ast.MatchStar, ast.ExceptHandler)):
        return node.name == name
    if isinstance(node, ast.MatchMapping):
        return node.rest == name
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return any((alias.asname or alias.name.split(".")[0]) == name for alias in node.names)
    return False


def _names_bound_outward(tree: ast.Module) -> dict[int, frozenset]:
    """Per nested scope (by node id): the names a ``nonlocal`` or a walrus anywhere inside it binds.

    One pass over the tree, children before parents: walking each nested scope again for every method
    around it took time quadratic in the nesting depth (seconds, spent before a program's time limit starts).
    """
    order, pending = [], [tree]
    while pending:
        node = pending.pop()
        order.append(node)
        pending.extend(ast.iter_child_nodes(node))
    inside: dict[int, frozenset] = {}
    found: dict[int, frozenset] = {}
    none: frozenset = frozenset()
    for node in reversed(order):
        names = set()
        if isinstance(node, ast.Nonlocal):
            names.update(node.names)
        elif isinstance(node, ast.NamedExpr):
            names.add(node.target.id)
        for child in ast.iter_child_nodes(node):
            names |= inside.pop(id(child), none)
        if names:
            inside[id(node)] = frozenset(names)
        if isinstance(node, _SCOPES):
            found[id(node)] = inside.get(id(node), none)
    return found


def _method_attribute_stores(tree: ast.Module) -> tuple[set[int], list[tuple[ast.FunctionDef, str]]]:
    """Attribute stores on ``self`` in methods that never rebind ``self``: (their node ids, methods to guard).

    The static rule cannot know what ``self`` is (``Helper.__init__(draw_pixel)`` passes anything),
    so each such method also gets a run-time check that ``self`` is an instance of a program class.
    """
    allowed: set[int] = set()
    guarded: list[tuple[ast.FunctionDef, str]] = []
    bound_outward = _names_bound_outward(tree)
    for cls in ast.walk(tree):
        if not isinstance(cls, ast.ClassDef):
            continue
        for method in cls.body:
            params = method.args.posonlyargs + method.args.args if isinstance(method, ast.FunctionDef) else []
            if not params:
                continue
            name = params[0].arg
            stores, rebound = [], False
            pending = list(method.body)
            while pending:
                node = pending.pop()
                if isinstance(node, _SCOPES):
                    # A nested scope's stores are not checked here (they are refused), but it can still
                    # rebind the method's ``self``: by its own name (``def self(): ...``, ``class self:``),
                    # through ``nonlocal``, or with a walrus in a default or decorator, which binds in
                    # the method's scope. Any of these anywhere inside counts.
                    rebound |= getattr(node, "name", None) == name or name in bound_outward[id(node)]
                    continue
                rebound |= _binds(node, name)
                if (
                    isinstance(node, ast.Attribute)
                    and not isinstance(node.ctx, ast.Load)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == name
                ):
                    stores.append(node)
                pending.extend(ast.iter_child_nodes(node))
            if stores and not rebound:
                allowed.update(id(node) for node in stores)
                guarded.append((method, name))
    return allowed, guarded


_GUARDED_OPERATORS = (ast.Pow, ast.LShift)
# Fields that never hold a node worth visiting (names, flags, contexts, operators, and import aliases,
# which their statement checks): skipping them keeps the walk, the check's main cost, short.
_SKIPPED_FIELDS = frozenset(
    "ctx op ops id attr name arg kind type_comment module level conversion is_async names asname kwd_attrs rest simple".split()
)
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(kind: type) -> tuple[str, ...]:
    fields = _CHILD_FIELDS.get(kind)
    if fields is None:
        fields = () if kind is ast.Constant else tuple(f for f in kind._fields if f not in _SKIPPED_FIELDS)
        _CHILD_FIELDS[kind] = fields
    return fields


def _check_attribute_on_name(node: ast.Attribute, aliases: dict, rebound: set) -> None:
    module = aliases.get(node.value.id) if isinstance(node.value, ast.Name) else None
    if module is not None and node.attr not in ALLOWED_MODULES[module]:
        raise _refuse(f"{module}.{node.attr}", node)
    if node.attr in _NUMPY_ONLY_ATTRIBUTES and (module != "numpy" or node.value.id in rebound):
        # ndarray.resize(..., refcheck=False) frees memory that views still point to. A module alias
        # that is also bound to something else anywhere (``def task(np): np.resize(...)``) may be an array.
        raise _refuse(f"method {node.attr!r} (use np.{node.attr}, with np bound only by its import)", node)


def _is_dunder_string(value) -> bool:
    """A str literal that names a special attribute (``"__array_interface__"``); ``"__main__"`` is common and harmless."""
    return isinstance(value, str) and len(value) > 4 and value.startswith("__") and value.endswith("__") and value != "__main__"


# Item-store keys that cannot be a str (so cannot be a dunder key) need no run-time guard.
def _key_needs_guard(key: ast.expr) -> bool:
    if isinstance(key, (ast.Tuple, ast.Slice)):
        return False
    if isinstance(key, ast.Constant):
        return isinstance(key.value, str)
    if isinstance(key, ast.UnaryOp) and isinstance(key.operand, ast.Constant):
        return False
    return True


def _check_tree(tree: ast.Module) -> tuple[list[tuple[ast.FunctionDef, str]], bool]:
    """One iterative walk (deep nesting cannot blow the stack); returns (methods to guard, uses ** or <<, needs the
    item-key guard, needs the array-method guard)."""
    aliases = {"np": "numpy", "numpy": "numpy"}
    attributes: list[ast.Attribute] = []  # checked once every import (and so every alias) is known
    stores: list[ast.Attribute] = []
    rebound: set[str] = set()  # names bound other than by an import
    methods: set[int] = set()
    has_class = arithmetic = needs_key_guard = needs_method_guard = False
    n_nodes = 0
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if not isinstance(node, ast.AST):  # None in a node list (``{**d}`` keys), a flag such as AnnAssign.simple
            continue
        n_nodes += 1
        if n_nodes > MAX_AST_NODES:
            raise ForbiddenCode(f"program has more than {MAX_AST_NODES} syntax nodes")
        kind = type(node)
        if kind in _FORBIDDEN_NODES:
            raise _refuse(_FORBIDDEN_NODES[kind], node)
        if kind is ast.Name:
            _check_name(node.id, node, load=type(node.ctx) is ast.Load)
            if type(node.ctx) is not ast.Load:
                rebound.add(node.id)
        elif kind is ast.Constant:
            if _is_dunder_string(node.value):
                raise _refuse(f"the string {one_line(node.value, 40)!r}", node)
        elif kind is ast.Subscript:
            if type(node.ctx) is ast.Store:
                needs_key_guard = needs_key_guard or _key_needs_guard(node.slice)
        elif kind is ast.Call:
            for keyword in node.keywords:
                if keyword.arg == "refcheck" or (keyword.arg is None and isinstance(node.func, ast.Attribute)
                                                 and node.func.attr in _NUMPY_ONLY_ATTRIBUTES):
                    raise _refuse("refcheck (resize that frees memory views still use)", node)
        elif kind is ast.Attribute:
            if type(node.ctx) is not ast.Load:
                stores.append(node)
            needs_method_guard = needs_method_guard or node.attr in GUARDED_METHODS
            if node.attr == "format" and _is_safe_format_string(node.value):
                pass  # "literal {}".format(...): fields are checked, so no attribute traversal
            else:
                _check_attribute(node.attr, node)
                attributes.append(node)
        elif kind is ast.BinOp or kind is ast.AugAssign:
            arithmetic = arithmetic or isinstance(node.op, _GUARDED_OPERATORS)
        elif kind is ast.Import:
            for alias in node.names:
                if alias.name not in _IMPORTABLE:
                    raise _refuse(f"import of {alias.name!r}", node)
                _check_name(alias.asname, node)
                aliases[alias.asname or alias.name] = alias.name
        elif kind is ast.ImportFrom:
            _check_import_from(node)
        elif kind is ast.FunctionDef:
            rebound.add(node.name)
            if not (id(node) in methods and node.name in ALLOWED_DUNDER_METHODS):
                _check_name(node.name, node)
        elif kind is ast.ClassDef:
            has_class = True
            rebound.add(node.name)
            _check_name(node.name, node)
            if node.keywords:
                raise _refuse("class keywords (metaclass=...)", node)
            methods.update(id(item) for item in node.body if type(item) is ast.FunctionDef)
        elif kind is ast.arg:
            rebound.add(node.arg)
            _check_name(node.arg, node)
        elif kind is ast.keyword:
            _check_name(node.arg, node)
        elif kind is ast.ExceptHandler:
            rebound.add(node.name)
            _check_name(node.name, node)
        elif kind is ast.Global or kind is ast.Nonlocal:
            for name in node.names:
                _check_name(name, node)
        elif kind is ast.MatchAs or kind is ast.MatchStar:
            rebound.add(node.name)
            _check_name(node.name, node)
        elif kind is ast.MatchMapping:
            rebound.add(node.rest)
            _check_name(node.rest, node)
        elif kind is ast.MatchClass:
            for attr in node.kwd_attrs:
                _check_attribute(attr, node)
        for field in _child_fields(kind):
            value = getattr(node, field, None)
            if type(value) is list:
                pending += value
            else:
                pending.append(value)
    for node in attributes:
        _check_attribute_on_name(node, aliases, rebound)
    guarded: list[tuple[ast.FunctionDef, str]] = []
    if stores:
        store_ok, guarded = _method_attribute_stores(tree) if has_class else (set(), [])
        for node in stores:
            if id(node) not in store_ok:
                raise _refuse("attribute assignment or deletion (except on self in a method)", node)
    return guarded, arithmetic, needs_key_guard, needs_method_guard


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
    if node.module == "__future__":
        if names != ["annotations"]:
            raise _refuse("a __future__ import other than annotations", node)
        return
    allowed = ALLOWED_MODULES.get(node.module)
    if allowed is None:
        raise _refuse(f"import from {node.module!r}", node)
    for name in names:
        if name not in allowed and not (name == "*" and node.module == DSL_MODULE):
            raise _refuse(f"import of {node.module}.{name}", node)


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
        call = ast.Call(func=ast.Name(id=helper, ctx=ast.Load()), args=[_as_load(node.target), node.value], keywords=[])
        return ast.copy_location(ast.Assign(targets=[node.target], value=call), node)


# ndarray methods that make arrays of another dtype or whose C loops call back into Python for object elements:
# ``x.sort`` becomes ``__arc_method__(x, "sort")``, which refuses it on an array that is not numeric (``_array_method``).
GUARDED_METHODS = frozenset(
    """
    astype view sort argsort partition argpartition searchsorted max min argmax argmin ptp sum prod cumsum cumprod
    mean std var clip dot trace all any fill put take choose compress repeat nonzero round
    """.split()
)


class _GuardMethods(ast.NodeTransformer):
    """``x.name`` (loads only) for a name in ``GUARDED_METHODS`` becomes ``__arc_method__(x, "name")``."""

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        if type(node.ctx) is not ast.Load or node.attr not in GUARDED_METHODS:
            return node
        call = ast.Call(func=ast.Name(id="__arc_method__", ctx=ast.Load()),
                        args=[node.value, ast.Constant(node.attr)], keywords=[])
        return ast.copy_location(call, node)


class _GuardKeys(ast.NodeTransformer):
    """``x[k] = v`` (in any store: assignment, unpacking, for, with, augmented) becomes ``x[__arc_key__(k)] = v``
    unless ``k`` cannot be a str: a leaked dict must not take ``__array_interface__`` and the like."""

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        self.generic_visit(node)
        if type(node.ctx) is ast.Store and _key_needs_guard(node.slice):
            call = ast.Call(func=ast.Name(id="__arc_key__", ctx=ast.Load()), args=[node.slice], keywords=[])
            node.slice = ast.copy_location(call, node.slice)
        return node


def _as_load(target: ast.expr) -> ast.expr:
    if isinstance(target, ast.Name):
        return ast.copy_location(ast.Name(id=target.id, ctx=ast.Load()), target)
    if isinstance(target, ast.Subscript):
        return ast.copy_location(ast.Subscript(value=target.value, slice=target.slice, ctx=ast.Load()), target)
    if isinstance(target, ast.Attribute):
        return ast.copy_location(ast.Attribute(value=target.value, attr=target.attr, ctx=ast.Load()), target)
    raise _refuse("this augmented assignment target", target)


def _parse_and_check(code: str) -> tuple[ast.Module, list[tuple[ast.FunctionDef, str]], bool, bool]:
    if not isinstance(code, str):
        raise InvalidProgram(f"program source must be a str, got {type(code).__name__}")
    if len(code) > MAX_SOURCE_CHARS:
        raise ForbiddenCode(f"program is {len(code)} characters long (limit {MAX_SOURCE_CHARS})")
    try:
        tree = ast.parse(code, filename=PROGRAM_FILENAME, mode="exec")
    except SyntaxError as exc:
        raise InvalidProgram(one_line(f"not valid Python: {exc.msg} (line {exc.lineno})")) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise InvalidProgram(one_line(f"cannot parse program: {describe(exc)}")) from None
    return (tree, *_check_tree(tree))


def check_program(code: str) -> None:
    """Static check only: raise ``InvalidProgram`` or ``ForbiddenCode`` if the sandbox would refuse ``code``."""
    _parse_and_check(code)


def compile_untrusted(code: str):
    """Check ``code`` and compile it with its run-time guards; raises ``InvalidProgram`` or ``ForbiddenCode``."""
    tree, guarded, arithmetic, key_guard, method_guard = _parse_and_check(code)
    try:
        for method, self_name in guarded:
            check = ast.Expr(
                ast.Call(func=ast.Name(id="__arc_own__", ctx=ast.Load()), args=[ast.Name(id=self_name, ctx=ast.Load())], keywords=[])
            )
            method.body.insert(0, ast.copy_location(check, method.body[0]))
        if arithmetic:  # most programs have no ** or <<, and the rewrite visits every node
            tree = _GuardArithmetic().visit(tree)
        if key_guard:
            tree = _GuardKeys().visit(tree)
        if method_guard:
            tree = _GuardMethods().visit(tree)
        if guarded or arithmetic or key_guard or method_guard:
            ast.fix_missing_locations(tree)
        return compile(tree, PROGRAM_FILENAME, "exec", dont_inherit=True)
    except ExecutionError:
        raise
    except (RecursionError, MemoryError, ValueError, SyntaxError) as exc:
        raise InvalidProgram(one_line(f"cannot compile program: {describe(exc)}")) from None


# The restricted runtime.

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
