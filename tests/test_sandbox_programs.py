"""Tests for arc25.sandbox: programs through the pool (ordinary, invalid, hostile, limits, batches) and the trusted path."""

from __future__ import annotations

import gc
import os
import signal
import socket
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from arc25.programs.trusted import execute_trusted
from arc25.sandbox import (
    ExecutionError,
    ExecutionMemoryError,
    ExecutionRuntimeError,
    ExecutionTimeout,
    ForbiddenCode,
    InvalidOutput,
    InvalidProgram,
    Sandbox,
    check_program,
    execute,
    execute_batch,
    validate_grid,
)

RNG = np.random.default_rng(1234)
GRIDS = [RNG.integers(0, 10, size=shape).astype(np.int64) for shape in [(3, 4), (5, 5), (7, 2), (10, 10)]]


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(n_workers=2) as pool:
        yield pool


@pytest.fixture(scope="module")
def small_sandbox():
    with Sandbox(n_workers=1, memory_limit_mb=256) as pool:
        yield pool


def run(code, grids=GRIDS, *, untrusted=True, sandbox=None, timeout_s=2.0):
    """Through the sandbox, or (``untrusted=False``) the trusted in-process path."""
    if not untrusted:
        return execute_trusted(code, grids)
    return execute(code, grids, timeout_s=timeout_s, sandbox=sandbox)


# --------------------------------------------------------------------------- validate_grid


def test_validate_grid_accepts_arrays_and_lists_and_returns_fresh_int64():
    grid = np.array([[1, 2], [3, 9]], dtype=np.uint8)
    out = validate_grid(grid)
    assert out.dtype == np.int64 and out.tolist() == [[1, 2], [3, 9]]
    out[0, 0] = 7
    assert grid[0, 0] == 1  # a copy, not a view
    assert validate_grid([[0, 1, 2]]).tolist() == [[0, 1, 2]]
    assert validate_grid(((4,), (5,))).tolist() == [[4], [5]]
    assert validate_grid(np.array([[1.0, 2.0]])).dtype == np.int64  # integral floats are fine
    assert validate_grid(np.zeros((30, 30), dtype=np.int32)).shape == (30, 30)


@pytest.mark.parametrize(
    "value",
    [
        None,
        5,
        "grid",
        [[1, 2], [3]],  # ragged
        np.zeros(5, dtype=np.int64),  # 1-D
        np.zeros((2, 2, 2), dtype=np.int64),  # 3-D
        np.zeros((0, 3), dtype=np.int64),
        np.zeros((31, 31), dtype=np.int64),
        np.zeros((1, 31), dtype=np.int64),
        np.full((2, 2), 10),
        np.full((2, 2), -1),
        np.array([[1.5, 2.0]]),
        np.array([[np.nan]]),
        np.array([[True, False]]),
        np.array([["a", "b"]]),
        np.array([[1, 2]], dtype=object),
        [[1, "2"]],
        [[10**30]],
    ],
    ids=lambda v: type(v).__name__ + str(getattr(v, "shape", "")),
)
def test_validate_grid_rejects(value):
    with pytest.raises(InvalidOutput):
        validate_grid(value)


# --------------------------------------------------------------------------- ordinary programs


# (name, source, expected(grid) computed independently with plain numpy)
ORDINARY = [
    (
        "loops",
        """
        def task(img):
            out = img.copy()
            for r in range(out.shape[0]):
                for c in range(out.shape[1]):
                    if out[r, c] == 0:
                        out[r, c] = 5
            return out
        """,
        lambda g: np.where(g == 0, 5, g),
    ),
    (
        "helpers_and_comprehensions",
        """
        def mirror(row):
            return [value for value in reversed(row)]

        def task(img):
            return np.array([mirror(list(row)) for row in img])
        """,
        lambda g: np.fliplr(g),
    ),
    (
        "modest_recursion",
        """
        def depth(n):
            return 0 if n == 0 else 1 + depth(n - 1)

        def task(img):
            return np.full(img.shape, depth(437) % 10)
        """,
        lambda g: np.full(g.shape, 7),
    ),
    (
        "recursive_dfs_on_grid",
        """
        def fill(grid, r, c, seen):
            if (r, c) in seen or not (0 <= r < grid.shape[0] and 0 <= c < grid.shape[1]):
                return
            seen.add((r, c))
            for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                fill(grid, r + dr, c + dc, seen)

        def task(img):
            seen = set()
            fill(img, 0, 0, seen)
            return np.full(img.shape, len(seen) % 10)
        """,
        lambda g: np.full(g.shape, g.size % 10),
    ),
    (
        "numpy_ops",
        """
        import numpy as np
        from numpy import rot90

        def task(img):
            masked = np.where(img > 4, img, 0)
            out = rot90(masked)
            out = np.flip(out, axis=0)
            background = np.zeros_like(out)
            background[out > 0] = out[out > 0]
            values, counts = np.unique(background, return_counts=True)
            assert counts.sum() == background.size
            return background
        """,
        lambda g: np.flip(np.rot90(np.where(g > 4, g, 0)), axis=0),
    ),
    (
        "dsl_calls",
        """
        from arc25.dsl import draw_line, draw_rectangle

        def task(img):
            rows, cols = img.shape
            out = create_img((rows, cols), 1)
            draw_rectangle(out, (0, 0), (rows - 1, 0), 2)
            draw_line(out, (0, cols - 1), (rows - 1, cols - 1), 3)
            draw_pixel(out, (0, 0), 4)
            return out
        """,
        lambda g: _dsl_expected(g.shape),
    ),
    (
        "mixed_python",
        """
        from __future__ import annotations

        def task(img: np.ndarray) -> np.ndarray:
            assert isinstance(img, np.ndarray)
            counts = {}
            for value in img.flatten().tolist():
                counts[value] = counts.get(value, 0) + 1
            ranked = sorted(counts, key=lambda v: (-counts[v], v))
            label = "top {} of {}".format(ranked[0], len(ranked))
            print(label, f"{len(label):03d}")
            match ranked:
                case [first, *rest]:
                    top = first
                case _:
                    top = 0
            small = (2 ** 3 + (1 << 2)) % 10
            return np.full(img.shape, top) * 0 + (top + small) % 10

        if __name__ == "__main__":
            raise RuntimeError("the main guard must not run")
        """,
        lambda g: np.full(g.shape, (_most_common(g) + 12) % 10),
    ),
    (
        "exceptions_and_generators",
        """
        def cells(img):
            for r in range(img.shape[0]):
                yield from ((r, c) for c in range(img.shape[1]))

        def task(img):
            out = img.copy()
            try:
                out[100, 100] = 1
            except IndexError:
                pass
            for r, c in cells(img):
                out[r, c] = (img[r, c] + 1) % 10
            return out
        """,
        lambda g: (g + 1) % 10,
    ),
]


def _dsl_expected(shape):
    _, cols = shape
    out = np.ones(shape, dtype=np.int64)
    out[:, 0] = 2
    out[:, cols - 1] = 3
    out[0, 0] = 4
    return out


def _most_common(grid):
    values, counts = np.unique(grid, return_counts=True)
    best = counts.max()
    return int(values[counts == best].min())


@pytest.mark.parametrize("name,source,expected", ORDINARY, ids=[case[0] for case in ORDINARY])
def test_ordinary_programs_run_untrusted(sandbox, name, source, expected):
    outputs = run(textwrap.dedent(source), sandbox=sandbox)
    assert len(outputs) == len(GRIDS)
    for grid, out in zip(GRIDS, outputs):
        assert out.dtype == np.int64
        np.testing.assert_array_equal(out, expected(grid))


@pytest.mark.parametrize("name,source,expected", ORDINARY, ids=[case[0] for case in ORDINARY])
def test_trusted_path_matches_untrusted_path(sandbox, name, source, expected):
    code = textwrap.dedent(source)
    trusted = run(code, untrusted=False)
    untrusted = run(code, sandbox=sandbox)
    assert len(trusted) == len(untrusted) == len(GRIDS)
    for a, b, grid in zip(trusted, untrusted, GRIDS):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, expected(grid))


BROAD_PROGRAM = """
counter = 0

def bump():
    global counter
    counter += 1
    return counter

def make_adder(k):
    total = 0
    def add(x):
        nonlocal total
        total += x
        return total + k
    return add

def task(img):
    text = repr(img) + str(img) + f"{img}" + f"{img.shape!r:>10}" + repr(np.int64(3)) + format(3, "b")
    rows, cols = img.shape
    stats = (np.median(img), np.histogram(img, bins=3), np.einsum("ij->j", img), np.vectorize(lambda x: x % 3)(img))
    cells = sorted([(r, c) for r in range(rows) for c in range(cols)], key=lambda p: (-p[0], p[1]))
    best = max(range(10), key=lambda colour: int((img == colour).sum()))
    counts = {colour: int((img == colour).sum()) for colour in range(10)}
    ranked = sorted(counts.items(), key=lambda kv: kv[1], reverse=True)
    colours = frozenset(set(img.flatten().tolist()) | {11}) - {11}
    if (n := len(colours)) > 0:
        assert n >= 1
    adder = make_adder(2)
    adder(1)
    bump()
    bump()
    misc = (float("inf"), int("3"), divmod(7, 3), round(2.5), complex(1, 2), bytes(3), bytearray(2), hex(5), ord("a"))
    items = iter([1, 2, 3])
    next(items)
    views = (img[slice(0, 1)], img[..., 0], img[np.newaxis].shape, img.astype(int).astype(np.uint8).astype(bool))
    try:
        raise KeyError("k")
    except (KeyError, IndexError) as exc:
        message = str(exc)
    finally:
        pass
    unique, inverse, tally = np.unique(img, return_inverse=True, return_counts=True)
    extras = (np.unique(img, axis=0), np.argwhere(img == best), np.pad(img, 1), np.clip(img, 2, 5))
    out = np.zeros_like(img)
    for (r, c), value in np.ndenumerate(img):
        out[r, c] = (value + counter) % 10
    checks = (all(v > -1 for v in img.flat), list(zip(*img.tolist())), list(map(sum, img.tolist())))
    return out
"""


@pytest.mark.parametrize("untrusted", [False, True], ids=["trusted", "untrusted"])
def test_broad_legitimate_program_is_not_refused(sandbox, untrusted):
    outputs = run(BROAD_PROGRAM, untrusted=untrusted, sandbox=sandbox)
    # The module runs once per call, so ``counter`` keeps counting across that call's grids.
    for index, (grid, out) in enumerate(zip(GRIDS, outputs)):
        np.testing.assert_array_equal(out, (grid + 2 * (index + 1)) % 10)


def test_inputs_are_copied_not_mutated(sandbox):
    code = "def task(img):\n    img[:] = 9\n    return img\n"
    before = [g.copy() for g in GRIDS]
    for untrusted in (False, True):
        outputs = run(code, untrusted=untrusted, sandbox=sandbox)
        assert all((out == 9).all() for out in outputs)
        for g, b in zip(GRIDS, before):
            np.testing.assert_array_equal(g, b)


def test_nested_list_inputs_and_outputs(sandbox):
    code = "def task(img):\n    return [[int(v) for v in row] for row in img.tolist()]\n"
    for untrusted in (False, True):
        outputs = run(code, [[[1, 2], [3, 4]]], untrusted=untrusted, sandbox=sandbox)
        assert [o.tolist() for o in outputs] == [[[1, 2], [3, 4]]]


# --------------------------------------------------------------------------- invalid programs and outputs

INVALID_OUTPUTS = {
    "none": "def task(img):\n    return None\n",
    "three_d": "def task(img):\n    return np.zeros((2, 2, 2), dtype=int)\n",
    "too_big": "def task(img):\n    return np.zeros((31, 31), dtype=int)\n",
    "colour_ten": "def task(img):\n    return np.full((2, 2), 10)\n",
    "negative": "def task(img):\n    return np.full((2, 2), -1)\n",
    "fractional_floats": "def task(img):\n    return np.full((2, 2), 1.5)\n",
    "string": "def task(img):\n    return 'grid'\n",
    "list_of_strings": "def task(img):\n    return [['1', '2']]\n",
    "bools": "def task(img):\n    return img > 3\n",
    "generator": "def task(img):\n    return (row for row in img)\n",
}


@pytest.mark.parametrize("untrusted", [False, True], ids=["trusted", "untrusted"])
@pytest.mark.parametrize("name", sorted(INVALID_OUTPUTS))
def test_invalid_outputs_raise_invalid_output(sandbox, name, untrusted):
    with pytest.raises(InvalidOutput):
        run(INVALID_OUTPUTS[name], untrusted=untrusted, sandbox=sandbox)


INVALID_PROGRAMS = {
    "not_python": "this is not python at all (",
    "bad_indent": "def task(img):\nreturn img\n",
    "no_task": "def solve(img):\n    return img\n",
    "task_not_callable": "task = 3\n",
    "empty": "",
    "null_byte": "def task(img):\n    return img\x00\n",
}


@pytest.mark.parametrize("untrusted", [False, True], ids=["trusted", "untrusted"])
@pytest.mark.parametrize("name", sorted(INVALID_PROGRAMS))
def test_invalid_programs_raise_invalid_program(sandbox, name, untrusted):
    with pytest.raises(InvalidProgram):
        run(INVALID_PROGRAMS[name], untrusted=untrusted, sandbox=sandbox)


@pytest.mark.parametrize("untrusted", [False, True], ids=["trusted", "untrusted"])
def test_program_exceptions_become_runtime_errors(sandbox, untrusted):
    with pytest.raises(ExecutionRuntimeError, match="ZeroDivisionError"):
        run("def task(img):\n    return 1 / 0\n", untrusted=untrusted, sandbox=sandbox)
    with pytest.raises(ExecutionRuntimeError, match="ValueError: colour"):
        run("def task(img):\n    raise ValueError('colour')\n", untrusted=untrusted, sandbox=sandbox)
    with pytest.raises(ExecutionRuntimeError, match="module level"):
        run("x = [][1]\ndef task(img):\n    return img\n", untrusted=False)
    # Trusted programs may reach SystemExit; it must not end the caller.
    with pytest.raises(ExecutionRuntimeError, match="SystemExit"):
        run("def task(img):\n    raise SystemExit(3)\n", untrusted=False)


def test_error_messages_are_short_single_lines(sandbox):
    code = "def task(img):\n    raise ValueError('line one\\nline two ' + 'x' * 5000)\n"
    with pytest.raises(ExecutionRuntimeError) as info:
        run(code, sandbox=sandbox)
    message = str(info.value)
    assert "\n" not in message and len(message) <= 300 and "line one line two" in message


def test_caller_errors_are_not_execution_errors(sandbox):
    with pytest.raises(ValueError):
        run("def task(img):\n    return img\n", [np.zeros(3, dtype=int)], sandbox=sandbox)
    with pytest.raises(ValueError):
        execute_batch(["def task(img):\n    return img\n"] * 2, [[GRIDS[0]]] * 3, sandbox=sandbox)
    with pytest.raises(ValueError):
        run("def task(img):\n    return img\n", sandbox=sandbox, timeout_s=0)


# --------------------------------------------------------------------------- hostile programs


def _hostile_programs(tmp: Path, port: int) -> dict[str, str]:
    target = str(tmp / "pwned")
    programs = {
        "import_os_system": f"import os\ndef task(img):\n    os.system('touch {target}')\n    return img",
        "import_subprocess": f"import subprocess\ndef task(img):\n    subprocess.run(['touch', '{target}'])\n    return img",
        "dunder_import": f"def task(img):\n    __import__('os').system('touch {target}')\n    return img",
        "open_write": f"def task(img):\n    open('{target}', 'w').write('x')\n    return img",
        "open_read": "def task(img):\n    open('/etc/hostname').read()\n    return img",
        "np_save": f"def task(img):\n    np.save('{target}.npy', img)\n    return img",
        "np_load": "def task(img):\n    return np.load('/etc/hostname')",
        "np_fromfile": "def task(img):\n    return np.fromfile('/etc/hostname')",
        "np_memmap": f"def task(img):\n    np.memmap('{target}', mode='w+', shape=(4,))\n    return img",
        "np_lib_format": f"def task(img):\n    np.lib.format.open_memmap('{target}', mode='w+', shape=(4,))\n    return img",
        "ndarray_tofile": f"def task(img):\n    img.tofile('{target}')\n    return img",
        "ndarray_dump": f"def task(img):\n    img.dump('{target}')\n    return img",
        "ctypes_attr": "def task(img):\n    img.ctypes.data_as(None)\n    return img",
        "np_ctypeslib": "def task(img):\n    np.ctypeslib.as_array(img)\n    return img",
        "import_ctypes": "import ctypes\ndef task(img):\n    ctypes.string_at(0)\n    return img",
        "subclasses": (
            "def task(img):\n"
            "    for cls in ().__class__.__base__.__subclasses__():\n"
            "        if cls.__name__ == 'Popen':\n"
            f"            cls(['touch', '{target}'])\n"
            "    return img"
        ),
        "function_globals": (
            f"def task(img):\n    draw_pixel.__globals__['np'].save('{target}.npy', img)\n    return img"
        ),
        "own_globals": (
            f"def task(img):\n    task.__globals__['__builtins__']['open']('{target}', 'w')\n    return img"
        ),
        "generator_frame": (
            "def task(img):\n    g = (i for i in [1])\n    f = g.gi_frame.f_back.f_back\n"
            "    return f.f_globals['np'].zeros((2, 2), int)"
        ),
        "traceback_frame": (
            "def task(img):\n    try:\n        1 / 0\n    except Exception as e:\n"
            "        tb = e.__traceback__\n        return tb.tb_frame.f_back.f_globals"
        ),
        "with_traceback": "def task(img):\n    e = ValueError()\n    e.with_traceback(None)\n    return img",
        "eval": f"def task(img):\n    eval(\"__import__('os').system('touch {target}')\")\n    return img",
        "exec": "def task(img):\n    exec('import os')\n    return img",
        "compile": "def task(img):\n    compile('1', 'x', 'eval')\n    return img",
        "getattr_tofile": f"def task(img):\n    getattr(img, 'tofile')('{target}')\n    return img",
        "setattr_numpy": "def task(img):\n    setattr(np, 'zeros', None)\n    return img",
        "globals_builtins": "def task(img):\n    globals()['__builtins__']\n    return img",
        "vars_numpy": "def task(img):\n    return vars(np)",
        "format_attribute": "def task(img):\n    '{0.__class__.__mro__}'.format(img)\n    return img",
        "format_variable": "def task(img):\n    s = '{0.__class__}'\n    s.format(img)\n    return img",
        "str_format_method": "def task(img):\n    str.format('{0.__class__}', img)\n    return img",
        "socket_connect": (
            f"import socket\ndef task(img):\n    socket.create_connection(('127.0.0.1', {port}))\n    return img"
        ),
        "kill_parent": "import os, signal\ndef task(img):\n    os.kill(os.getppid(), signal.SIGKILL)\n    return img",
        "system_exit": "def task(img):\n    raise SystemExit(0)",
        "exit_builtin": "def task(img):\n    exit(0)",
        "keyboard_interrupt": "def task(img):\n    raise KeyboardInterrupt",
        "breakpoint": "def task(img):\n    breakpoint()\n    return img",
        "input": "def task(img):\n    input()\n    return img",
        "class_metaclass": "class Evil(metaclass=type):\n    pass\ndef task(img):\n    return img",
        "class_del_method": "class Evil:\n    def __del__(self):\n        pass\ndef task(img):\n    return img",
        "class_getattribute": (
            "class Evil:\n    def __getattribute__(self, name):\n        return 1\ndef task(img):\n    return img"
        ),
        "method_on_foreign_self": (
            "class Evil:\n    def mark(self):\n        self.marked = 1\n"
            "def task(img):\n    Evil.mark(draw_pixel)\n    return img"
        ),
        "rebound_self": (
            "class Evil:\n    def mark(self):\n        self = np\n        self.zeros = None\n"
            "def task(img):\n    Evil().mark()\n    return img"
        ),
        "import_random": "import random\ndef task(img):\n    return img",
        "functools_update_wrapper": (
            "from functools import update_wrapper\ndef task(img):\n    update_wrapper(draw_pixel, task)\n    return img"
        ),
        "copy_module_attribute": "import copy\ndef task(img):\n    copy.sys.exit(0)\n    return img",
        "async_def": "async def task(img):\n    return img",
        "attribute_store": "def task(img):\n    np.zeros = None\n    return img",
        "builtins_dict": "def task(img):\n    __builtins__['len'] = None\n    return img",
        "relative_import": "from . import execution\ndef task(img):\n    return img",
        "arc25_trusted": "from arc25 import trusted\ndef task(img):\n    return img",
        "numpy_submodule": "import numpy.lib\ndef task(img):\n    return img",
        "numpy_star": "from numpy import *\ndef task(img):\n    return img",
        "numpy_testing": "def task(img):\n    np.testing.assert_equal(1, 1)\n    return img",
        "raw_ndarray": "def task(img):\n    return np.ndarray((1,), dtype='O', buffer=bytearray(8))",
        "resize_refcheck": "def task(img):\n    v = img[0]\n    img.resize((100000,), refcheck=False)\n    return img",
        "code_object": "def task(img):\n    return (lambda: 0).__code__",
        "infinite_loop": "def task(img):\n    while True:\n        pass",
        "swallowing_loop": (
            "def task(img):\n    while True:\n        try:\n            while True:\n                pass\n"
            "        except BaseException:\n            pass"
        ),
        "huge_power": "def task(img):\n    x = 10 ** 10 ** 10\n    return img",
        "huge_shift": "def task(img):\n    x = 1 << 10 ** 10\n    return img",
        "huge_pow_builtin": "def task(img):\n    x = pow(7, 10 ** 9)\n    return img",
        "memory_list": "def task(img):\n    x = [0] * 10 ** 10\n    return img",
        "memory_numpy": "def task(img):\n    x = np.ones((10 ** 5, 10 ** 5))\n    return img",
        "recursion_bomb": "def f(n):\n    return f(n + 1) + 1\ndef task(img):\n    return f(0)",
        "module_level_loop": "while True:\n    pass\ndef task(img):\n    return img",
        "print_flood_then_fail": "def task(img):\n    for _ in range(10 ** 4):\n        print('x' * 10 ** 4)\n    return None",
    }
    return programs


def test_hostile_programs_are_refused_without_side_effects(sandbox, tmp_path):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    cwd_before = sorted(os.listdir("."))
    programs = _hostile_programs(tmp_path, port)
    assert len(programs) >= 25
    names = list(programs)
    try:
        results = execute_batch([programs[n] for n in names], GRIDS[:2], timeout_s=1.0, sandbox=sandbox)
        for name, result in zip(names, results):
            assert isinstance(result, ExecutionError), f"{name} was not refused: {result!r}"
            assert str(result) and "\n" not in str(result)
        by_name = dict(zip(names, results))
        assert isinstance(by_name["infinite_loop"], ExecutionTimeout)
        assert isinstance(by_name["swallowing_loop"], ExecutionTimeout)
        assert isinstance(by_name["module_level_loop"], ExecutionTimeout)
        assert isinstance(by_name["memory_list"], ExecutionMemoryError)
        assert isinstance(by_name["memory_numpy"], ExecutionMemoryError)
        assert isinstance(by_name["import_os_system"], ForbiddenCode)
        assert isinstance(by_name["subclasses"], ForbiddenCode)
        assert isinstance(by_name["generator_frame"], ForbiddenCode)
        assert isinstance(by_name["print_flood_then_fail"], InvalidOutput)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected
    finally:
        listener.close()
    assert list(tmp_path.iterdir()) == []
    assert sorted(os.listdir(".")) == cwd_before
    # The caller is alive and the pool still works afterwards.
    np.testing.assert_array_equal(run("def task(img):\n    return img\n", sandbox=sandbox)[0], GRIDS[0])


@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_hostile_programs_would_do_harm_unsandboxed(tmp_path):
    """Control: the same file-writing and connecting programs really act when run trusted (in-process)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(5)
    port = listener.getsockname()[1]
    programs = _hostile_programs(tmp_path, port)
    try:
        run(programs["open_write"], GRIDS[:1], untrusted=False)
        assert (tmp_path / "pwned").exists()
        run(programs["np_save"], GRIDS[:1], untrusted=False)
        assert (tmp_path / "pwned.npy").exists()
        run(programs["socket_connect"], GRIDS[:1], untrusted=False)
        connection, _ = listener.accept()
        connection.close()
    finally:
        listener.close()
        gc.collect()  # the programs leave their file and socket to the collector: close them here


def test_print_flood_is_silent_and_cheap(sandbox, capfd):
    code = "def task(img):\n    for _ in range(2000):\n        print('spam' * 1000)\n    return img\n"
    outputs = run(code, sandbox=sandbox)
    np.testing.assert_array_equal(outputs[1], GRIDS[1])
    captured = capfd.readouterr()
    assert "spam" not in captured.out and "spam" not in captured.err


@pytest.mark.parametrize(
    "code",
    [
        "def task(img):\n    return img.__class__\n",
        "def task(img):\n    return img.ctypes\n",
        "import os\ndef task(img):\n    return img\n",
        "def task(img):\n    np.save('x', img)\n    return img\n",
        "def task(img):\n    return getattr(img, 'T')\n",
        "def task(img):\n    img.shape = (1, -1)\n    return img\n",
        "class A(metaclass=type):\n    pass\ndef task(img):\n    return img\n",
        "class A:\n    def __init_subclass__(cls):\n        pass\ndef task(img):\n    return img\n",
        "def f(x):\n    x.y = 1\ndef task(img):\n    return img\n",
        "import math\ndef task(img):\n    return math.__dict__\n",
        "from collections import abc\ndef task(img):\n    return img\n",
        "import os.path\ndef task(img):\n    return img\n",
        "def task(__img):\n    return __img\n",
        "def task(img):\n    return np.random.randint(3)\n",
        "def task(img):\n    return img.resize((2, 2))\n",
        "def task(img):\n    return ' {0.real} '.format(img)\n",
        "x = 1\n" * 50_001,
    ],
)
def test_check_program_refuses(code):
    with pytest.raises(ForbiddenCode):
        check_program(code)


def test_check_program_allows_ordinary_code():
    for _, source, _ in ORDINARY:
        check_program(textwrap.dedent(source))
    check_program("def task(img):\n    return np.resize(img, (2, 2))\n")
    check_program("def task(img):\n    dir = 1\n    return img\n")


# --------------------------------------------------------------------------- isolation between programs


def test_rebinding_names_does_not_leak_between_programs():
    clobber = textwrap.dedent(
        """
        draw_pixel = None
        create_img = None
        np = None
        numpy = None
        len = None
        print = None
        def task(img):
            return [[0]]
        """
    )
    forbidden = [
        "def task(img):\n    np.zeros = None\n    return img\n",
        "def task(img):\n    numpy.rot90 = None\n    return img\n",
        "def task(img):\n    draw_pixel.color = 3\n    return img\n",
        "def task(img):\n    __builtins__['len'] = None\n    return img\n",
    ]
    check = textwrap.dedent(
        """
        def task(img):
            out = np.rot90(np.zeros_like(img))
            print(len(out))
            return draw_pixel(out, (0, 0), 7)
        """
    )
    with Sandbox(n_workers=1) as pool:  # one worker: every program runs in the same process
        results = pool.execute_batch([clobber, *forbidden, check, clobber, check], GRIDS[:1])
        assert results[0][0].tolist() == [[0]]
        assert all(isinstance(r, ForbiddenCode) for r in results[1:5])
        for result in (results[5], results[7]):
            expected = np.rot90(np.zeros_like(GRIDS[0]))
            expected[0, 0] = 7
            np.testing.assert_array_equal(result[0], expected)
        # Across calls too.
        pool.execute(clobber, GRIDS[:1])
        assert pool.execute(check, GRIDS[:1])[0][0, 0] == 7


def test_trusted_path_does_not_leak_either():
    execute_trusted("draw_pixel = None\nnp = None\ndef task(img):\n    return img\n", GRIDS[:1])
    with pytest.raises(ExecutionRuntimeError, match="read-only"):
        execute_trusted("def task(img):\n    np.zeros = None\n    return img\n", GRIDS[:1])
    out = execute_trusted("def task(img):\n    return draw_pixel(np.zeros((2, 2), dtype=int), (0, 0), 3)\n", GRIDS[:1])
    assert out[0].tolist() == [[3, 0], [0, 0]]
    assert np.zeros is not None


# --------------------------------------------------------------------------- limits


def test_infinite_loop_times_out_quickly(sandbox):
    start = time.monotonic()
    with pytest.raises(ExecutionTimeout):
        run("def task(img):\n    while True:\n        pass\n", sandbox=sandbox, timeout_s=0.5)
    assert time.monotonic() - start < 5.0
    # The worker is usable (or was replaced) afterwards.
    np.testing.assert_array_equal(run("def task(img):\n    return img\n", sandbox=sandbox)[2], GRIDS[2])


def test_timeout_holds_when_the_program_blocks_the_alarm(sandbox):
    # One long C-level loop never returns to the interpreter, so the in-worker alarm cannot fire:
    # the parent has to kill the worker.
    code = "def task(img):\n    x = sum(range(10 ** 12))\n    return img\n"
    start = time.monotonic()
    with pytest.raises(ExecutionTimeout):
        run(code, sandbox=sandbox, timeout_s=0.5)
    assert time.monotonic() - start < 5.0
    np.testing.assert_array_equal(run("def task(img):\n    return img\n", sandbox=sandbox)[0], GRIDS[0])


def test_a_hang_the_alarm_cannot_stop_is_blamed_on_its_own_program():
    """Workers send replies in batches; when the parent has to kill one, only the culprit is blamed."""
    ok = "def task(img):\n    return img\n"
    hang = "def task(img):\n    x = sum(range(10 ** 12))\n    return img\n"
    with Sandbox(n_workers=1) as pool:
        # The first chunk is jobs 0-2: job 0's reply is still held back when job 1 hangs.
        results = pool.execute_batch([ok] + [hang] + [ok] * 11, GRIDS[:1], timeout_s=0.5)
    assert [type(r).__name__ for r in results] == ["list"] + ["ExecutionTimeout"] + ["list"] * 11


@pytest.mark.parametrize(
    "code",
    [
        "def task(img):\n    return [0] * 10 ** 10\n",
        "def task(img):\n    return np.zeros((10 ** 6, 10 ** 6))\n",
        "def task(img):\n    return ' ' * 10 ** 11\n",
        "def task(img):\n    return bytearray(10 ** 11)\n",
        "def task(img):\n    chunks = []\n    while True:\n        chunks.append(np.ones(10 ** 7))\n",
    ],
)
def test_memory_bombs_fail_cleanly(small_sandbox, code):
    with pytest.raises(ExecutionError) as info:
        run(code, sandbox=small_sandbox, timeout_s=3.0)
    assert isinstance(info.value, (ExecutionMemoryError, ExecutionTimeout))
    # The pool recovers (a worker that ran out of memory is replaced).
    np.testing.assert_array_equal(run("def task(img):\n    return img\n", sandbox=small_sandbox)[0], GRIDS[0])


def test_huge_integers_fail_fast(sandbox):
    start = time.monotonic()
    for code in ("def task(img):\n    return 10 ** 10 ** 10\n", "def task(img):\n    x = 3\n    x **= 10 ** 8\n"):
        with pytest.raises(ExecutionRuntimeError, match="too large"):
            run(code, sandbox=sandbox, timeout_s=5.0)
    assert time.monotonic() - start < 3.0
    # Modest powers and shifts still work, in-place ones on arrays too.
    code = "def task(img):\n    out = img.copy()\n    out **= 1\n    return out * 0 + (2 ** 3 + (1 << 1)) % 10\n"
    assert run(code, sandbox=sandbox)[0][0, 0] == 0


@pytest.mark.parametrize("sig,error", [(signal.SIGSEGV, ExecutionRuntimeError), (signal.SIGKILL, ExecutionMemoryError)])
def test_dead_worker_is_reported_and_replaced(sig, error):
    with Sandbox(n_workers=1) as pool:
        pool.execute("def task(img):\n    return img\n", GRIDS[:1])
        pid = pool.worker_pids()[0]
        killer = threading.Timer(0.5, os.kill, (pid, sig))
        killer.start()
        try:
            with pytest.raises(error):
                pool.execute("def task(img):\n    while True:\n        pass\n", GRIDS[:1], timeout_s=10.0)
        finally:
            killer.cancel()
        assert pool.execute("def task(img):\n    return img\n", GRIDS[:1])[0].shape == GRIDS[0].shape
        assert pool.worker_pids()[0] != pid


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="looks the workers up in /proc")
def test_sandbox_close_stops_workers():
    pool = Sandbox(n_workers=2)
    pool.execute_batch(["def task(img):\n    return img\n"] * 4, GRIDS[:1])
    pids = pool.worker_pids()
    assert len(pids) == 2 and all(Path(f"/proc/{pid}").exists() for pid in pids)
    pool.close()
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)
    with pytest.raises(RuntimeError):
        pool.execute("def task(img):\n    return img\n", GRIDS[:1])


# --------------------------------------------------------------------------- batches


def test_execute_batch_512_programs_mixed(sandbox):
    programs, expected = [], []
    for i in range(512):
        if i % 64 == 5:
            programs.append("def task(img):\n    return img +\n")
            expected.append(InvalidProgram)
        elif i % 64 == 17:
            programs.append("import os\ndef task(img):\n    return img\n")
            expected.append(ForbiddenCode)
        elif i % 64 == 29:
            programs.append("def task(img):\n    return img * 10\n")
            expected.append(InvalidOutput)
        elif i % 64 == 41:
            programs.append("def task(img):\n    raise ValueError('no')\n")
            expected.append(ExecutionRuntimeError)
        elif i in (100, 300):
            programs.append("def task(img):\n    while True:\n        pass\n")
            expected.append(ExecutionTimeout)
        else:
            k, colour = i % 4, i % 10
            programs.append(
                f"def task(img):\n    out = np.rot90(img, {k})\n    draw_pixel(out, (0, 0), {colour})\n    return out\n"
            )
            grids = []
            for grid in GRIDS:
                out = np.rot90(grid, k).copy()
                out[0, 0] = colour
                grids.append(out)
            expected.append(grids)
    results = execute_batch(programs, GRIDS, timeout_s=1.0, sandbox=sandbox)
    assert len(results) == 512
    for i, (result, want) in enumerate(zip(results, expected)):
        if isinstance(want, list):
            assert isinstance(result, list), f"program {i}: {result!r}"
            assert len(result) == len(GRIDS)
            for got, exp in zip(result, want):
                np.testing.assert_array_equal(got, exp)
        else:
            assert type(result) is want, f"program {i}: {result!r}"


def test_execute_batch_n_workers_caps_a_larger_warm_pool(monkeypatch):
    from arc25.sandbox import pool as pool_module

    identity = "def task(img):\n    return img\n"
    with Sandbox(n_workers=2) as pool:
        pool.execute_batch([identity] * 8, GRIDS[:1])
        assert len(pool.worker_pids()) == 2
        used = []
        send = pool_module._Batch._send
        monkeypatch.setattr(pool_module._Batch, "_send",
                            lambda batch, worker, chunk: (used.append(worker.process.pid), send(batch, worker, chunk))[1])
        results = pool.execute_batch([identity] * 32, GRIDS[:1], n_workers=1)
        assert all(isinstance(r, list) for r in results)
        assert len(set(used)) == 1, used
        # Control: without the cap the same batch is shared by both warm workers.
        used.clear()
        pool.execute_batch([identity] * 32, GRIDS[:1])
        assert len(set(used)) == 2, used


def test_execute_batch_with_inputs_per_program(sandbox):
    programs = ["def task(img):\n    return img.T\n", "def task(img):\n    return img[:1]\n"]
    inputs = [GRIDS[:2], GRIDS[2:]]
    results = execute_batch(programs, inputs, sandbox=sandbox)
    assert [r.tolist() for r in results[0]] == [GRIDS[0].T.tolist(), GRIDS[1].T.tolist()]
    assert [r.tolist() for r in results[1]] == [GRIDS[2][:1].tolist(), GRIDS[3][:1].tolist()]
    assert execute_batch([], GRIDS, sandbox=sandbox) == []
    odd = execute_batch([None, "x" * 200_000], GRIDS, sandbox=sandbox)
    assert isinstance(odd[0], InvalidProgram) and isinstance(odd[1], ForbiddenCode)


def test_default_pool_is_used_when_no_sandbox_given():
    out = execute("def task(img):\n    return np.fliplr(img)\n", GRIDS[:1], timeout_s=2.0)
    np.testing.assert_array_equal(out[0], np.fliplr(GRIDS[0]))
    batch = execute_batch(["def task(img):\n    return img\n"] * 3, GRIDS[:1], n_workers=1)
    assert all(isinstance(r, list) for r in batch)


# --------------------------------------------------------------------------- standard modules and helper classes

# (name, source, expected(grid) computed independently): what model-written solutions commonly use.
STANDARD = [
    (
        "math_and_itertools",
        """
        import math
        import itertools as it

        def task(img):
            rows, cols = img.shape
            cells = sum(1 for _ in it.product(range(rows), range(cols)))
            pairs = len(list(it.combinations(range(4), 2)))
            return np.full(img.shape, (math.gcd(cells, 12) + pairs + math.floor(math.sqrt(16))) % 10)
        """,
        lambda g: np.full(g.shape, (np.gcd(g.size, 12) + 6 + 4) % 10),
    ),
    (
        "collections",
        """
        from collections import Counter, defaultdict, deque, namedtuple

        Cell = namedtuple("Cell", "row col")

        def task(img):
            counts = Counter(img.flatten().tolist())
            top = min(counts, key=lambda v: (-counts[v], v))
            groups = defaultdict(list)
            for r in range(img.shape[0]):
                groups[r % 2].append(Cell(r, 0))
            queue = deque(groups[0])
            queue.rotate(1)
            return np.full(img.shape, (top + len(queue)) % 10)
        """,
        lambda g: np.full(g.shape, (_most_common(g) + (g.shape[0] + 1) // 2) % 10),
    ),
    (
        "functools_and_copy",
        """
        import copy
        from functools import lru_cache, partial, reduce

        @lru_cache(maxsize=None)
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)

        def task(img):
            rows = copy.deepcopy(img.tolist())
            rows[0][0] = -1
            add = partial(lambda a, b: a + b, 1)
            total = reduce(lambda a, b: a + b, [add(v) for v in img.flatten().tolist()])
            return np.full(img.shape, (fib(20) + total) % 10)
        """,
        lambda g: np.full(g.shape, (6765 + int(g.sum()) + g.size) % 10),
    ),
    (
        "helper_classes",
        """
        from typing import List

        class Region:
            def __init__(self, colour):
                self.colour = colour
                self.cells = []

            def add(self, r, c):
                self.cells.append((r, c))
                self.size = len(self.cells)

            def __lt__(self, other):
                return (self.size, -self.colour) < (other.size, -other.colour)

            def __repr__(self):
                return f"Region({self.colour}, {self.size})"

        class Counted(Region):
            pass

        def task(img):
            regions: List[Region] = []
            for colour in sorted(set(img.flatten().tolist())):
                region = Counted(colour)
                for r, c in zip(*np.nonzero(img == colour)):
                    region.add(int(r), int(c))
                regions.append(region)
            best = max(regions)
            repr(best)
            return np.full(img.shape, best.colour)
        """,
        lambda g: np.full(g.shape, _most_common(g)),
    ),
    (
        "deep_recursion",
        """
        def count(grid, r, c, seen):
            if (r, c) in seen or not (0 <= r < grid.shape[0] and 0 <= c < grid.shape[1]):
                return 0
            seen.add((r, c))
            return 1 + sum(count(grid, r + dr, c + dc, seen) for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0)))

        def task(img):
            return np.full(img.shape, count(img, 0, 0, set()) % 10)
        """,
        lambda g: np.full(g.shape, g.size % 10),
    ),
]


@pytest.mark.parametrize("name,source,expected", STANDARD, ids=[case[0] for case in STANDARD])
def test_standard_modules_and_helper_classes_run(sandbox, name, source, expected):
    code = textwrap.dedent(source)
    check_program(code)
    for untrusted in (True, False):
        outputs = run(code, untrusted=untrusted, sandbox=sandbox)
        for grid, out in zip(GRIDS, outputs):
            np.testing.assert_array_equal(out, expected(grid))


def test_program_classes_do_not_leak_between_programs():
    define = "class Box:\n    def __init__(self):\n        self.v = 5\nkeep = Box()\ndef task(img):\n    return img\n"
    use = "def task(img):\n    return np.full(img.shape, Box().v)\n"
    with Sandbox(n_workers=1) as pool:
        results = pool.execute_batch([define, use], GRIDS[:1])
    assert isinstance(results[0], list)
    assert isinstance(results[1], ExecutionRuntimeError) and "NameError" in str(results[1])
