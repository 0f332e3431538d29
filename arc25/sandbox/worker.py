"""A sandbox worker: trusted start-up, OS confinement, then a zygote, a template, and one process per program.

Started by the pool as ``python -I -c <boot> ...`` (a fresh interpreter: the caller's ``__main__``
is never imported) with two pipes: commands in, replies out. Start-up imports numpy and the DSL,
runs a warm-up program so that every lazy import happens while files can still be read, then
``confinement.confine`` sets the OS layers up and forks the zygote (see there for the generations).

The zygote forks the *template* before it reads any job, then reads chunks of jobs. For each program
it makes two pipes, writes the job (the program's source, its inputs, its time limit) into the
first, and hands the child's ends to the template over a socket; the template forks the child (as a
child of the zygote: clone with CLONE_PARENT), answers its pid and closes its copies. The child
closes everything but its two pipe ends, reads its job, jails itself, checks and compiles its
program (within its own limits), runs it and writes one reply frame; the zygote gives it
``timeout_s`` of wall-clock time from its fork before SIGKILL, checks the reply and sends it on
under the job id it started the child for. So a program's process is a copy of the template, which
never held a job (no source, input, compiled code, output, reply or error of any program: no
compile cache anywhere); it holds only its own job, never the pool's pipes, cannot answer for
another program, and leaves nothing (objects, caches, timers, generators, signal handlers, limits)
to the next one.
"""

from __future__ import annotations

import gc
import os
import select
import signal
import socket
import struct
import sys
import time
import unicodedata  # noqa: F401 - the parser imports it for non-ASCII identifiers, which it could not once confined
import warnings

import numpy as np

from arc25.sandbox import confinement, wire
from arc25.programs.errors import ExecutionError, describe, one_line
from arc25.programs.grids import validate_grid
from arc25.sandbox.policy import compile_untrusted, untrusted_namespace

_FLUSH_EVERY = 8
_FLUSH_AFTER_S = 0.005
_RECURSION_LIMIT = 3000
_MAX_GROUP_CHARS = 200_000
_EXIT_GRACE_S = 0.05  # a child whose pipe closed without a reply gets this long to exit (and say why) before SIGKILL

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
    dot = np.dot(out, out.T).sum() + (out @ out.T).sum() + len(np.unique(out, axis=0))  # axis= imports numpy.ma
    café = {"k": 1}
    try:
        {}["missing"]
    except KeyError as exc:
        str(exc)
    print("quiet", total, pairs, counts, queue, dot, café, repr(out), str(out), f"{out}", repr(np.int64(3)), str(1.5))
    return out
"""


def _compile(code: str):
    """Code object for ``code``, or (error class name, message). Runs in the program's own process, under its limits."""
    try:
        return compile_untrusted(code)
    except ExecutionError as exc:
        return (type(exc).__name__, str(exc))
    except (RecursionError, MemoryError, ValueError, SyntaxError) as exc:
        return ("InvalidProgram", f"cannot compile program: {describe(exc)}")


# A program namespace the zygote builds once and never touches: each program child runs its (first) program in
# its own copy-on-write copy, so it starts from a namespace no program has used, without copying the builtins and
# module proxies itself (copying them writes the reference count of every exported object: a page fault each).
_PRISTINE: list = [None]


def run_program(prepared, grids: list[np.ndarray], namespace: dict | None = None):
    """Run one compiled program on all grids (in its own process); returns ("ok", outputs) or ("err", class, message).

    ``namespace``: one no program has used (default: a new one)."""
    phase = "module level"
    try:
        namespace = namespace if namespace is not None else untrusted_namespace()
        exec(prepared, namespace)  # noqa: S102 - checked and compiled with guards
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
    except ExecutionError as exc:
        return ("err", type(exc).__name__, str(exc))
    except MemoryError:
        return ("err", "ExecutionMemoryError", f"{phase} ran out of memory")
    except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt, GeneratorExit included
        return ("err", "ExecutionRuntimeError", f"{phase} raised {describe(exc)}")


def _reply_of(result) -> tuple[dict, bytes]:
    if result[0] == "ok":
        outputs = result[1]
        header = {"ok": True, "shapes": [[int(o.shape[0]), int(o.shape[1])] for o in outputs]}
        return header, b"".join(o.astype(np.uint8).tobytes() for o in outputs)
    return {"ok": False, "err": result[1], "msg": one_line(result[2])}, b""


def _error(cls: str, message: str) -> tuple[dict, bytes]:
    return {"ok": False, "err": cls, "msg": one_line(message)}, b""


def _child_main(job_fd: int, reply_fd: int) -> None:
    """A program child: read its own job, jail itself, check, compile and run its program(s), one reply frame each,
    and exit (never returns, runs no finalizers).

    It holds two descriptors, both its own: the read end of its job pipe and the write end of its reply pipe (no
    descriptors 0-2: nothing open that another process shares). What it has of jobs is what came down its pipe."""
    try:
        low, high = sorted((job_fd, reply_fd))
        os.closerange(0, low)  # one close_range call each: every system call pays for the filter
        os.closerange(low + 1, high)
        os.closerange(high + 1, confinement._MAX_OPEN_FILES + 64)
        job = wire.read_job(job_fd)  # from the zygote, trusted; read before the stricter filter, which needs no help
        os.close(job_fd)
        if job is None:
            os._exit(0)
        timeout_s, sources, shapes, probe, shared, blob = job
        grids, _ = wire.decode_grids(shapes, blob, 0, "<i8")
        del job, blob
        confinement.jail_program(timeout_s * len(sources))
        processes = confinement.probe_processes() if probe else None
        for index in range(len(sources)):
            gc.disable()  # the syntax tree is no garbage: collecting while it grows only costs time
            prepared = _compile(sources[index])  # the check and the compile count against this program's limits
            gc.enable()
            if isinstance(prepared, tuple):  # refused or not valid Python
                reply, blob = _error(*prepared)
            else:
                reply, blob = _reply_of(run_program(prepared, grids, _PRISTINE[0] if index == 0 else None))
            if shared:
                # A chunk shares this process: the next program must not find this one's garbage,
                # finalizers (a generator's finally) or cache entries, and must not pay for them.
                prepared = None
                gc.collect()
                for clear in _TYPING_CACHES:
                    clear()
            if probe:
                reply["processes"] = processes
            wire.write_all(reply_fd, wire.pack(reply, blob))
    except BaseException:  # noqa: BLE001 - the zygote reports a child that exits without a reply
        pass
    os._exit(0)


try:
    import typing

    _TYPING_CACHES = tuple(typing._cleanups)
except (ImportError, AttributeError):  # a Python without the private list: nothing to clear
    _TYPING_CACHES = ()


def _death(status: int, timeout_s: float) -> tuple[dict, bytes]:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return _error("ExecutionTimeout", "program exceeded its CPU time limit")
        if sig == signal.SIGKILL:
            return _error("ExecutionMemoryError", "program's process was killed (probably out of memory or CPU time)")
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return _error("ExecutionRuntimeError", f"program's process crashed ({name})")
    return _error("ExecutionRuntimeError", f"program's process exited without a result (status {os.waitstatus_to_exitcode(status)})")


def _checked(frame: bytes, n_grids: int, probe: bool) -> tuple[dict, bytes]:
    """A child's frame as a clean reply (only the known fields), or the error that it is malformed."""
    try:
        # A program's reply is refused unread when its header is longer than an honest one: parsing a JSON bomb
        # took the zygote ~0.6 s (outside every time limit) and left ~20 MB behind, and a message that filled the
        # frame no longer fit in one once tagged with its job id (the pool took the whole worker for broken).
        header, blob = wire.unpack(frame, max_header=wire.reply_header_limit(n_grids))
        wire.decode_reply(header, blob, n_grids)  # raises on anything malformed
    except (ValueError, TypeError, KeyError, UnicodeDecodeError, RecursionError, struct.error):
        return _error("ExecutionRuntimeError", "program's process sent a malformed reply")
    if header.get("ok") is True:
        clean = {"ok": True, "shapes": header["shapes"]}
        if probe:
            clean["processes"] = header.get("processes")
        return clean, bytes(blob)
    return {"ok": False, "err": header["err"], "msg": header["msg"]}, b""


def _start_child(job_fd: int, reply_fd: int) -> int:
    """A program child holding ``job_fd`` and ``reply_fd``: forked by the template (a child of this zygote all the
    same), or, without a template, by this process. Returns its pid; OSError if the kernel refuses."""
    template = _TEMPLATE[0]
    if template is None:
        pid = confinement.fork_program()
        if pid == 0:
            _child_main(job_fd, reply_fd)
        return pid
    try:
        socket.send_fds(template, [b"f"], [job_fd, reply_fd])
        answer = template.recv(8)
    except OSError:
        answer = b""
    if len(answer) != 4:
        os._exit(8)  # the template is gone: no program can start here, so the pool must replace this worker
    pid = struct.unpack("<i", answer)[0]
    if pid < 0:
        raise OSError(-pid, os.strerror(-pid))
    return pid


def _template_main(channel: socket.socket) -> None:
    """The template: fork a program child for each pair of pipe ends the zygote sends, answer its pid, and never
    touch a job. Every program's process is a copy of this one, which holds only the worker's start-up state."""
    keep = channel.fileno()
    for fd in range(confinement._MAX_OPEN_FILES + 64):
        if fd > 2 and fd != keep:  # the pool's pipes and the lifeline stay with the zygote
            try:
                os.close(fd)
            except OSError:
                pass
    confinement.trim_heap()  # what the start-up freed goes back: a smaller process forks faster
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(channel, 8, 2)
        except InterruptedError:
            continue
        except OSError:
            os._exit(0)
        if message != b"f" or len(fds) != 2:
            os._exit(0)  # the zygote is gone (or confused): so is the reason to fork
        try:
            pid = confinement.fork_sibling()
        except OSError as exc:
            pid = -(exc.errno or 1)
        if pid == 0:
            _child_main(*fds)
        for fd in fds:
            os.close(fd)
        channel.send(struct.pack("<i", pid))


# The zygote's end of the socket to the template process (None: the zygote forks program children itself).
_TEMPLATE: list = [None]


def start_template(zygote_end: socket.socket, template_end: socket.socket) -> None:
    """Fork the template from the zygote before the zygote reads any job (once, at start-up)."""
    pid = confinement.fork_program()
    if pid == 0:
        try:
            zygote_end.close()
            confinement.die_with_parent()
            _template_main(template_end)
        finally:
            os._exit(0)
    template_end.close()
    _TEMPLATE[0] = zygote_end


def run_in_children(sources: list[str], grids, timeout_s: float, lifeline: int, *, probe: bool = False,
                    shared: bool = False, on_reply=None, on_wait=None) -> list:
    """Run ``sources`` (programs) in program children, in order; returns one reply per program.

    One child runs them all, one frame each, and each gets ``timeout_s`` of wall-clock time from the
    previous frame (the first from its fork: reading, checking and compiling count); a child that
    overruns, dies or misbehaves is killed, the program it was running gets the error, and the rest
    start again in a fresh child. With one program, one child per program.
    ``on_reply(index, reply)`` hears each reply as soon as it is known; ``on_wait()``, called while a child
    runs, returns within how many seconds it wants to be called again (None: only when something happens).
    """
    replies = _Replies(on_reply, on_wait)
    shapes, grid_bytes = wire.encode_grids(list(grids), "<i8")
    while len(replies) < len(sources):
        todo = sources[len(replies):]
        job = wire.pack_job(timeout_s, todo, shapes, probe, shared, grid_bytes)
        job_r, job_w = os.pipe()
        reply_r, reply_w = os.pipe()
        os.set_blocking(job_w, False)  # a child that does not read its job must not hold the zygote
        unsent = _send_some(job_w, memoryview(job))  # before the fork: the child finds its job (or most of it) there
        try:
            pid = _start_child(job_r, reply_w)
        except OSError as exc:
            for fd in (job_r, job_w, reply_r, reply_w):
                os.close(fd)
            replies.append(_error("ExecutionRuntimeError", f"sandbox could not start the program's process ({describe(exc)})"))
            continue
        os.close(job_r)
        os.close(reply_w)
        outcome = _collect(pid, reply_r, job_w, unsent, len(todo), len(grids), timeout_s, lifeline, probe, replies)
        if outcome == "done":
            _EXITING.bury(pid)
            continue
        status = _reap(pid, wait_s=_EXIT_GRACE_S if outcome == "eof" else 0.0)
        if outcome == "timeout":
            replies.append(_error("ExecutionTimeout", f"program exceeded the {timeout_s:g} s time limit"))
        elif outcome == "oversized":
            replies.append(_error("ExecutionRuntimeError", "program's process sent an oversized reply"))
        elif outcome == "eof":
            replies.append(_death(status, timeout_s) if status is not None else
                           _error("ExecutionRuntimeError", "program's process closed its reply pipe without a result"))
    return list(replies)


class _Replies(list):
    """A list of replies that tells ``on_reply`` of each one as it is appended (and carries ``on_wait``)."""

    def __init__(self, on_reply, on_wait=None) -> None:
        super().__init__()
        self.on_reply = on_reply
        self.on_wait = on_wait

    def append(self, reply) -> None:
        super().append(reply)
        if self.on_reply is not None:
            self.on_reply(len(self) - 1, reply)


class _Exiting:
    """Children that answered, killed but not yet reaped: a process's exit (freeing its copied pages) takes
    longer than a small program, so the zygote forks the next one meanwhile instead of waiting for it."""

    MOST = 2  # then wait for the oldest: RLIMIT_NPROC leaves room for this many (confinement._ZYGOTE_NPROC)

    def __init__(self) -> None:
        self.pids: list[int] = []

    def bury(self, pid: int) -> None:
        """SIGKILL ``pid`` (its answer is in: nothing it does from now on may count) and reap it later."""
        os.kill(pid, signal.SIGKILL)
        self.pids.append(pid)
        self.pids = [p for p in self.pids if not os.waitpid(p, os.WNOHANG)[0]]
        while len(self.pids) >= self.MOST:
            os.waitpid(self.pids.pop(0), 0)

    def drain(self) -> None:
        while self.pids:
            os.waitpid(self.pids.pop(0), 0)


_EXITING = _Exiting()


def _reap(pid: int, wait_s: float) -> int | None:
    """Reap a child, killing it unless it exits within ``wait_s``: a program that answered (or closed its pipe)
    and keeps running must not hold the zygote, or the next program would be blamed for the wait."""
    until = time.monotonic() + wait_s
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() >= until:
            break
        time.sleep(0.001)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None  # killed here: its own status says nothing


def _collect(pid: int, read_fd: int, job_fd: int, unsent: memoryview, expected: int, n_grids: int, timeout_s: float,
             lifeline: int, probe: bool, replies: list) -> str:
    """Write the rest of a child's job (``unsent``) to ``job_fd`` (non-blocking) and read its frames into
    ``replies``; returns "done", "timeout", "oversized" or "eof" (died early). Both pipes are closed on return."""
    deadline = time.monotonic() + timeout_s
    data = bytearray()
    got = 0
    poller = select.poll()
    poller.register(read_fd, select.POLLIN)
    poller.register(lifeline, select.POLLIN)
    try:
        if unsent:
            poller.register(job_fd, select.POLLOUT)
        else:
            os.close(job_fd)
            job_fd = -1
        while got < expected:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            wake = replies.on_wait() if replies.on_wait is not None else None
            events = poller.poll(min(left, wake if wake is not None else left) * 1000)
            if any(fd == lifeline for fd, _ in events):
                os.kill(pid, signal.SIGKILL)
                os._exit(0)  # the outer process is gone: so is the pool's claim on this worker
            if job_fd >= 0 and any(fd == job_fd for fd, _ in events):
                unsent = _send_some(job_fd, unsent)
                if not unsent:
                    poller.unregister(job_fd)
                    os.close(job_fd)
                    job_fd = -1
            if not any(fd == read_fd for fd, _ in events):
                continue
            chunk = os.read(read_fd, 1 << 16)
            if not chunk:
                return "eof"
            data += chunk
            while got < expected:
                size = wire.frame_size(data)
                if size is not None and size > wire.MAX_REPLY_BYTES:
                    return "oversized"
                if size is None or len(data) < size:
                    break
                replies.append(_checked(bytes(data[:size]), n_grids, probe))
                del data[:size]
                got += 1
                deadline = time.monotonic() + timeout_s
            if len(data) > wire.MAX_REPLY_BYTES:
                return "oversized"
        return "done"
    finally:
        os.close(read_fd)
        if job_fd >= 0:
            os.close(job_fd)


def _send_some(fd: int, unsent: memoryview) -> memoryview:
    """Write what the pipe takes now; a child that closed its end gets nothing more (it answers or dies)."""
    try:
        while unsent:
            unsent = unsent[os.write(fd, unsent):]
    except BlockingIOError:
        pass
    except OSError:
        return memoryview(b"")
    return unsent


def run_in_child(source: str, grids, timeout_s: float, lifeline: int, *, probe: bool = False) -> tuple[dict, bytes]:
    """Fork a child for one program, wait for its reply until ``timeout_s``, and reap it; returns the reply."""
    reply = run_in_children([source], grids, timeout_s, lifeline, probe=probe)[0]
    _EXITING.drain()
    return reply


def set_up(memory_limit_mb: int, layers: tuple[str, ...], parent: int | None = None) -> tuple[dict[str, str], int]:
    """Trusted start-up and confinement; returns, in the zygote, the isolation report and the lifeline fd."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
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
    result = run_program(compile_untrusted(_WARMUP_PROGRAM), [grid])
    if result[0] != "ok":
        raise RuntimeError(f"warm-up program failed: {result}")
    del result
    # The template's channel: made now, because the filter refuses new sockets once confined.
    channels = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET) if confinement.LINUX else None
    report, lifeline = confinement.confine(memory_limit_mb, layers, parent)
    _PRISTINE[0] = untrusted_namespace()
    gc.collect()
    gc.freeze()  # children never collect the start-up objects, so they copy fewer pages
    if channels is not None:
        start_template(*channels)  # before any job reaches this process
    header, _ = run_in_child(_WARMUP_PROGRAM, [grid], 30.0, lifeline, probe=True)
    if header.get("ok") is not True:
        raise RuntimeError(f"warm-up program failed once confined: {header}")
    if "processes" in layers:
        report["processes"] = str(header.get("processes"))
    return report, lifeline


class _Outbox:
    """Replies held back and sent a few at a time: every ``_FLUSH_EVERY`` replies, once the oldest is
    ``_FLUSH_AFTER_S`` old (checked as replies come and while a program runs), and at the end of each chunk.

    The wait while a program runs matters: the pool allows one time limit (plus grace) between replies, and a
    reply held until the next program's came would wait as long as that program ran, up to its whole limit."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.held: list[bytes] = []
        self.oldest = 0.0

    def add(self, job_id: int, reply: tuple[dict, bytes]) -> None:
        header, blob = reply
        header["id"] = job_id
        if not self.held:
            self.oldest = time.monotonic()
        self.held.append(wire.pack(header, blob))
        if len(self.held) >= _FLUSH_EVERY or time.monotonic() - self.oldest > _FLUSH_AFTER_S:
            self.send()

    def due_in(self) -> float | None:
        """Send what is held if the oldest is due; seconds until it will be (None when nothing is held)."""
        if not self.held:
            return None
        left = self.oldest + _FLUSH_AFTER_S - time.monotonic()
        if left > 0:
            return left
        self.send()
        return None

    def send(self) -> None:
        if self.held:
            wire.write_all(self.fd, b"".join(self.held))
            self.held.clear()


def serve(cmd_fd: int, reply_fd: int, lifeline: int) -> None:
    """Run chunks of jobs until the command pipe closes (or the outer process dies).

    Replies are held back and sent a few at a time (``_Outbox``): one write and one wake-up of the
    parent per batch instead of per program.
    """
    poller = select.poll()
    poller.register(cmd_fd, select.POLLIN)
    poller.register(lifeline, select.POLLIN)
    while True:
        if any(fd == lifeline for fd, _ in poller.poll()):
            os._exit(0)
        frame = wire.read_frame(cmd_fd)
        if frame is None:
            os._exit(0)
        header, blob = wire.unpack(frame)
        timeout_s = float(header["timeout"])
        sets, offset = [], 0
        for shapes in header["sets"]:
            grids, offset = wire.decode_grids(shapes, blob, offset, "<i8")
            sets.append(grids)
        shared = header.get("fresh") == "chunk"
        outbox = _Outbox(reply_fd)
        deliver = outbox.add
        jobs = header["jobs"]
        start = 0
        while start < len(jobs):
            job_id, code, set_index = jobs[start]
            group, sources, chars = [job_id], [code], len(code)
            # fresh="chunk": one process for consecutive programs on the same inputs (a bounded amount of source,
            # so that checking and compiling them stays within their process's first time limit).
            while shared and start + len(group) < len(jobs) and chars < _MAX_GROUP_CHARS:
                next_id, next_code, next_set = jobs[start + len(group)]
                if next_set != set_index:
                    break
                group.append(next_id)
                sources.append(next_code)
                chars += len(next_code)
            run_in_children(sources, sets[set_index], timeout_s, lifeline, shared=shared,
                            on_reply=lambda index, reply, group=group: deliver(group[index], reply),
                            on_wait=outbox.due_in)
            start += len(group)
        outbox.send()


def main(argv: list[str]) -> None:
    """``argv``: command fd, reply fd, memory limit in MB, OS layers (comma-separated), caller pid."""
    cmd_fd, reply_fd, memory_limit_mb, wanted, caller = argv
    cmd_fd, reply_fd = int(cmd_fd), int(reply_fd)
    try:
        confinement.die_with_parent(int(caller))
        layers, lifeline = set_up(int(memory_limit_mb), tuple(filter(None, wanted.split(","))), int(caller))
    except BaseException as exc:  # noqa: BLE001 - report whatever stopped start-up, then go
        try:
            wire.write_all(reply_fd, wire.pack({"fatal": describe(exc)}))
        finally:
            os._exit(3)
    wire.write_all(reply_fd, wire.pack({"ready": True, "layers": layers}))
    try:
        serve(cmd_fd, reply_fd, lifeline)
    except BaseException:  # noqa: BLE001 - a broken pipe or a malformed command: the parent sees EOF
        os._exit(4)
