"""What an untrusted program may say: the static AST check and the compile step that adds runtime guards.

The check is a whitelist over syntax: imports of the few harmless modules of ``ALLOWED_MODULES`` (the
one place they are listed) and only their listed names; no dunder names or
attributes except the dunder methods of the program's own classes; attribute assignment only on
``self`` inside those methods (guarded at run time, see ``runtime.own_instance``); no async code,
reflective builtins or attributes that lead to files, foreign memory, frames or code objects.
It keeps programs from reaching the worker's internals; the operating system (see ``confinement``)
keeps a worker that got there anyway from reaching anything else.
"""

from __future__ import annotations

import ast
import itertools
import math
import string

import numpy as np

from arc25 import dsl
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
# ``x.sort`` becomes ``__arc_method__(x, "sort")``, which refuses it on an array that is not numeric (``runtime``).
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
