"""A sandbox worker process: trusted start-up, OS confinement, then programs in a loop until EOF.

Started by the pool as ``python -I -c <boot> ...`` (a fresh interpreter: the caller's ``__main__``
is never imported) with two pipes: commands in, replies out. Start-up imports numpy and the DSL,
runs a warm-up program so that every lazy import happens while files can still be read, then
calls ``confinement.confine`` and says ready with the isolation report.
"""

from __future__ import annotations

import contextvars
import functools
import gc
import os
import resource
import signal
import sys
import time
import warnings

import numpy as np

from arc25.sandbox import wire
from arc25.sandbox.confinement import confine
from arc25.sandbox.errors import ExecutionError, describe, one_line
from arc25.sandbox.grids import validate_grid
from arc25.sandbox.policy import compile_untrusted
from arc25.sandbox.runtime import untrusted_namespace

_FLUSH_EVERY = 8
_FLUSH_AFTER_S = 0.005
_ALARM_REPEAT_S = 0.02  # after the deadline the alarm keeps firing, so swallowing it once does not help
_RECURSION_LIMIT = 3000

_WARMUP_PROGRAM = """
import math, itertools, copy
from collections import Counter, deque
from functools import lru_cache, reduce
import numpy as np
from arc25.dsl import create_img, draw_line

class Box:
    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return f"Box({self.value})"

@lru_cache(maxsize=None)
def helper(n):
    return [v * 2 for v in range(n) if v % 2 == 0]

def task(img):
    out = np.where(np.rot90(np.flip(img), 2) > 4, img, 0)
    rows, cols = out.shape
    draw_line(out, (0, 0), (rows - 1, cols - 1), 3)
    flood_fill(out, (0, cols - 1), 4)
    draw_rectangle(out, (0, 0), (1, 1), 2)
    total = sum(helper(5)) + 2 ** 3 + (1 << 2) + math.gcd(4, 6) + reduce(max, [1, 2])
    pairs = list(itertools.product(range(2), repeat=2)) + list(itertools.combinations(range(3), 2))
    counts = Counter(out.flatten().tolist()).most_common(2)
    queue = deque(copy.deepcopy([Box(1), Box(2)]))
    dot = np.dot(out, out.T).sum() + (out @ out.T).sum()
    try:
        {}["missing"]
    except KeyError as exc:
        str(exc)
    print("quiet", total, pairs, counts, queue, dot, repr(out), str(out), f"{out}", repr(np.int64(3)), str(1.5))
    return out
"""


class _Timeout(BaseException):
    """Raised inside the worker by the wall-clock alarm."""


class _State:
    alarm_armed = False
    # Set by the alarm itself: a program that catches the timeout (or fails while handling it) still timed out.
    timed_out = False


@functools.lru_cache(maxsize=512)
def _prepare(code: str):
    """Code object for ``code`` (cached by source), or (error class name, message)."""
    try:
        return compile_untrusted(code)
    except ExecutionError as exc:
        return (type(exc).__name__, str(exc))


def _run_program(code: str, grids: list[np.ndarray]):
    """Run one program on all grids; returns ("ok", outputs) or ("err", class name, message)."""
    phase = "module level"
    try:
        prepared = _prepare(code)
        if isinstance(prepared, tuple):
            return ("err", *prepared)
        namespace = untrusted_namespace()
        exec(prepared, namespace)  # noqa: S102 - checked and compiled with guards above
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
        return ("err", "ExecutionRuntimeError", f"{phase} raised {describe(exc)}")


def run_job(code: str, grids: list[np.ndarray], timeout_s: float) -> tuple[dict, bytes, bool]:
    """Run one job under the alarm and a CPU limit; returns (reply header without id, grid bytes, retire?)."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu_soft = int(used.ru_utime + used.ru_stime + timeout_s) + 2
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (min(cpu_soft, hard) if hard >= 0 else cpu_soft, hard))
    result = None
    _State.timed_out = False
    try:
        try:
            _State.alarm_armed = True
            signal.setitimer(signal.ITIMER_REAL, timeout_s, _ALARM_REPEAT_S)
            result = contextvars.copy_context().run(_run_program, code, grids)
            gc.collect(1)  # this program's garbage (and finalizers) now, under its clock; older generations stay to the collector
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0, 0)
            _State.alarm_armed = False
    except _Timeout:
        pass
    except MemoryError:
        result = ("err", "ExecutionMemoryError", "program ran out of memory")
    except BaseException as exc:  # noqa: BLE001
        result = ("err", "ExecutionRuntimeError", describe(exc))
    if _State.timed_out:
        result = ("err", "ExecutionTimeout", f"program exceeded the {timeout_s:g} s time limit")
    elif result is None:
        result = ("err", "ExecutionRuntimeError", "program produced no result")
    if result[0] == "ok":
        outputs = result[1]
        header = {"ok": True, "shapes": [[int(o.shape[0]), int(o.shape[1])] for o in outputs]}
        return header, b"".join(o.astype(np.uint8).tobytes() for o in outputs), False
    # A fresh process beats trusting one that hit its memory limit mid-way.
    return {"ok": False, "err": result[1], "msg": one_line(result[2])}, b"", result[1] == "ExecutionMemoryError"


def _on_alarm(signum, frame) -> None:
    if _State.alarm_armed:
        _State.timed_out = True
        raise _Timeout()


def set_up(memory_limit_mb: int, root_dir: str, layers: tuple[str, ...]) -> dict[str, str]:
    """Trusted start-up, then confinement; returns the isolation report."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    signal.signal(signal.SIGALRM, _on_alarm)
    warnings.simplefilter("ignore")
    sys.setrecursionlimit(_RECURSION_LIMIT)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    sys.stdin = open(os.devnull)  # noqa: SIM115 - lives as long as the worker
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115
    os.environ.clear()

    # Warm up before confinement, so that lazy imports and caches happen while files are readable.
    grid = np.arange(25, dtype=np.int64).reshape(5, 5) % 10
    header, _, _ = run_job(_WARMUP_PROGRAM, [grid], 10.0)
    if not header.get("ok"):
        raise RuntimeError(f"warm-up program failed: {header}")
    report = confine(root_dir, memory_limit_mb, layers)
    _prepare.cache_clear()
    gc.collect()
    gc.freeze()  # start-up objects move to the permanent generation, out of every later collection
    header, _, _ = run_job(_WARMUP_PROGRAM, [grid], 10.0)
    if not header.get("ok"):
        raise RuntimeError(f"warm-up program failed once confined: {header}")
    return report


def serve(cmd_fd: int, reply_fd: int) -> None:
    """Run chunks of jobs until the command pipe closes.

    Replies are held back and sent a few at a time (every ``_FLUSH_EVERY`` replies, before a job
    starts once the oldest is ``_FLUSH_AFTER_S`` old, and at the end of each chunk): one write and one
    wake-up of the parent per batch instead of per program. So at most one running job follows
    unsent replies, and the parent, when it must kill a worker, re-runs that chunk's unanswered
    jobs one per chunk to find the culprit.
    """
    while True:
        frame = wire.read_frame(cmd_fd)
        if frame is None:
            os._exit(0)
        header, blob = wire.unpack(frame)
        timeout_s = float(header["timeout"])
        sets, offset = [], 0
        for shapes in header["sets"]:
            grids, offset = wire.decode_grids(shapes, blob, offset, "<i8")
            sets.append(grids)
        held: list[bytes] = []
        oldest = 0.0
        for job_id, code, set_index in header["jobs"]:
            if held and time.monotonic() - oldest > _FLUSH_AFTER_S:
                wire.write_all(reply_fd, b"".join(held))
                held.clear()
            reply, out_blob, retire = run_job(code, sets[set_index], timeout_s)
            reply["id"] = job_id
            if retire:
                reply["retire"] = True
            if not held:
                oldest = time.monotonic()
            held.append(wire.pack(reply, out_blob))
            if retire or len(held) >= _FLUSH_EVERY:
                wire.write_all(reply_fd, b"".join(held))
                held.clear()
            if retire:
                os._exit(0)
        if held:
            wire.write_all(reply_fd, b"".join(held))


def main(argv: list[str]) -> None:
    """``argv``: command fd, reply fd, memory limit in MB, empty root directory, OS layers (comma-separated)."""
    cmd_fd, reply_fd, memory_limit_mb, root_dir, wanted = argv
    cmd_fd, reply_fd = int(cmd_fd), int(reply_fd)
    try:
        layers = set_up(int(memory_limit_mb), root_dir, tuple(filter(None, wanted.split(","))))
    except BaseException as exc:  # noqa: BLE001 - report whatever stopped start-up, then go
        try:
            wire.write_all(reply_fd, wire.pack({"fatal": describe(exc)}))
        finally:
            os._exit(3)
    wire.write_all(reply_fd, wire.pack({"ready": True, "layers": layers}))
    try:
        serve(cmd_fd, reply_fd)
    except BaseException:  # noqa: BLE001 - a broken pipe or a malformed command: the parent sees EOF
        os._exit(4)
