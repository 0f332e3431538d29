"""``Sandbox``: a pool of persistent worker processes that run untrusted programs.

Workers are fresh interpreters started with ``subprocess`` (``python -I``), never through
multiprocessing: nothing of the caller (its ``__main__``, threads, open files) reaches them, so
the pool works from unguarded scripts, ``python -c``, notebooks, pytest, DataLoader workers and
every accelerate rank. They are started from one long-lived thread per process (``_Spawner``),
because each asks to be killed when the thread that started it ends (the caller's death). The
parent talks to them over two pipes each (``wire``), enforces a wall-clock deadline between
replies as a backstop (each worker's zygote enforces every program's own, see ``worker``), and
kills and replaces a worker that passes it or dies.

The module-level API (``execute``, ``execute_batch``, ``isolation``) runs on one shared pool per process,
made on first use (again after a fork) and closed at interpreter exit.
"""

from __future__ import annotations

import json
import math
import os
import queue
import selectors
import signal
import struct
import subprocess
import sys
import threading
import time
import warnings
import weakref
from collections import deque

import numpy as np

from arc25.sandbox import wire
from arc25.programs.errors import (
    ExecutionError,
    ExecutionMemoryError,
    ExecutionRuntimeError,
    ExecutionTimeout,
    ForbiddenCode,
    InvalidProgram,
    one_line,
)
from arc25.programs.grids import as_input_grid, is_grid_like
from arc25.sandbox.confinement import LAYERS, OS_LAYERS, Isolation
from arc25.sandbox.policy import MAX_SOURCE_CHARS

DEFAULT_MEMORY_LIMIT_MB = 1024
_STARTUP_TIMEOUT_S = 60.0
_MAX_CHUNK = 16
_MAX_SHARED_CHUNK = 64  # fresh="chunk": one process per chunk, so longer chunks spread its fork further
_REFILL_AT = _MAX_CHUNK  # replies come in batches, so keep a whole chunk queued behind the running one
_MAX_STARTUP_FAILURES = 3
_READ_BYTES = 1 << 16
# The worker's interpreter gets nothing of the caller's environment but single-threaded maths
# libraries: a thread pool would spin on the other core, and new namespaces need one thread.
_WORKER_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "LC_ALL": "C"}
_BOOT = "import sys, json; sys.path[:0] = json.loads(sys.argv[1]); from arc25.sandbox.worker import main; main(sys.argv[2:])"
_warned = False
_FRESH = {
    "program": "on (a new process for every program, forked from a template that never held a job)",
    "chunk": "off: programs on the same inputs share a process, in chunks (Sandbox(fresh='chunk'))",
}


def worker_command(cmd_fd: int, reply_fd: int, memory_limit_mb: int, layers) -> list[str]:
    """The command line of a worker that reads chunks from ``cmd_fd`` and answers on ``reply_fd``: an isolated
    interpreter (``-I``) that imports arc25 from where this process does."""
    path = [os.path.abspath(entry) for entry in sys.path if entry]
    return [sys.executable, "-I", "-c", _BOOT, json.dumps(path), str(cmd_fd), str(reply_fd), str(memory_limit_mb),
            ",".join(layers), str(os.getpid())]


def _caller_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first frame outside this package (the caller's line)."""
    here = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == here:
        frame, level = frame.f_back, level + 1
    return level


def _grace_s(timeout_s: float) -> float:
    """Extra wall-clock time the parent allows before killing a worker (the in-worker alarm comes first)."""
    return 0.5 + 0.5 * timeout_s


class _Spawner:
    """One long-lived thread per process that starts every worker.

    Workers ask for SIGKILL when the thread that started them ends (PR_SET_PDEATHSIG), so they must
    not be started from a caller's short-lived thread: this one lives as long as the process.
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.requests: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._loop, name="arc25-sandbox-spawner", daemon=True).start()

    def _loop(self) -> None:
        while True:
            function, box, done = self.requests.get()
            try:
                box.append((True, function()))
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller's thread
                box.append((False, exc))
            done.set()

    def call(self, function):
        box, done = [], threading.Event()
        self.requests.put((function, box, done))
        done.wait()
        ok, value = box[0]
        if not ok:
            raise value
        return value


_SPAWNER: _Spawner | None = None
_SPAWNER_LOCK = threading.Lock()


def _spawner() -> _Spawner:
    global _SPAWNER
    with _SPAWNER_LOCK:
        if _SPAWNER is None or _SPAWNER.pid != os.getpid():  # threads do not survive fork
            _SPAWNER = _Spawner()
        return _SPAWNER


def _worker_env() -> dict:
    env = dict(_WORKER_ENV)
    if "LD_LIBRARY_PATH" in os.environ:  # some environments find numpy's libraries only through it
        env["LD_LIBRARY_PATH"] = os.environ["LD_LIBRARY_PATH"]
    return env


class _Worker:
    __slots__ = ("cmd_fd", "deadline", "inbox", "outbox", "pending", "process", "ready", "reply_fd", "started")

    def __init__(self, process, cmd_fd: int, reply_fd: int) -> None:
        self.process = process
        self.cmd_fd = cmd_fd
        self.reply_fd = reply_fd
        self.inbox = bytearray()
        self.outbox = memoryview(b"")
        self.ready = False
        self.pending: deque[int] = deque()
        self.deadline = math.inf
        self.started = time.monotonic()


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


def _stop_worker(worker: _Worker, *, kill: bool) -> None:
    _close(worker.cmd_fd)  # EOF: an idle worker exits on its own
    _close(worker.reply_fd)
    process = worker.process
    try:
        if kill:
            process.kill()
        process.wait(1.0 if kill else 0.5)
    except subprocess.TimeoutExpired:
        process.kill()
        try:
            process.wait(1.0)
        except subprocess.TimeoutExpired:
            pass
    except OSError:
        pass


def _shutdown(workers: list, owner_pid: int) -> None:
    if os.getpid() != owner_pid:  # a forked copy of the pool: the workers are not its children
        workers.clear()
        return
    for worker in workers:
        _close(worker.cmd_fd)
    for worker in workers:
        _stop_worker(worker, kill=False)
    workers.clear()


def _exit_error(returncode) -> ExecutionError:
    if returncode is not None and returncode < 0:
        sig = -returncode
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        if sig == getattr(signal, "SIGXCPU", None):
            return ExecutionTimeout("program exceeded its CPU time limit")
        if sig == signal.SIGKILL:
            return ExecutionMemoryError("sandbox worker was killed (probably out of memory)")
        return ExecutionRuntimeError(f"sandbox worker crashed ({name})")
    return ExecutionRuntimeError(f"sandbox worker exited unexpectedly (exit code {returncode})")


def _parse_layers(layers) -> Isolation:
    if not (isinstance(layers, dict) and set(layers) == set(LAYERS) and all(isinstance(v, str) for v in layers.values())):
        raise ValueError("bad isolation report")
    return Isolation({name: one_line(layers[name]) for name in LAYERS})


class Sandbox:
    """A pool of persistent sandbox worker processes for untrusted programs.

    Use it as a context manager (or call ``close``) to keep workers alive
    across many ``execute`` / ``execute_batch`` calls. Workers start lazily,
    up to ``n_workers`` (default ``os.cpu_count()``). Calls are serialised by
    a lock, so a Sandbox may be shared between threads. ``layers`` picks the OS
    isolation layers to set up (all by default; fewer only to measure them).

    ``fresh="program"`` (the default) runs every program in its own process, forked from a
    template process that never held a job, and gives it only its own job: nothing a program
    does, even with arbitrary code, reaches another program, and nothing of another program
    (source, inputs, compiled code, outputs, replies, errors) is in its process to read. ``fresh="chunk"`` runs consecutive programs on the same inputs (one task's
    candidates) in one process, with fresh Python state for each: faster where fork is dear,
    but a program that escapes the Python layer can then change or forge the results of the
    programs after it in that chunk (never those of other inputs, calls or callers).
    """

    def __init__(
        self,
        n_workers: int | None = None,
        *,
        memory_limit_mb: int = DEFAULT_MEMORY_LIMIT_MB,
        layers: tuple[str, ...] = OS_LAYERS,
        fresh: str = "program",
    ) -> None:
        if fresh not in _FRESH:
            raise ValueError(f"fresh must be one of {', '.join(_FRESH)}; got {fresh!r}")
        self.fresh = fresh
        if os.name != "posix":
            raise RuntimeError(f"the sandbox needs a POSIX system (Linux for OS isolation); this is {sys.platform}")
        if n_workers is not None and (not isinstance(n_workers, int) or n_workers < 1):
            raise ValueError(f"n_workers must be a positive int or None, got {n_workers!r}")
        unknown = [name for name in layers if name not in OS_LAYERS]
        if isinstance(layers, str) or unknown:
            raise ValueError(f"layers must be a tuple of {', '.join(OS_LAYERS)}; got {layers!r}")
        self.layers = tuple(layers)
        self.n_workers = n_workers or os.cpu_count() or 1
        self.memory_limit_mb = int(memory_limit_mb)
        self._workers: list[_Worker] = []
        self._selector = selectors.DefaultSelector()
        self._isolation: Isolation | None = None
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._closed = False
        self._finalizer = weakref.finalize(self, _shutdown, self._workers, self._pid)

    # -- lifecycle

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def owner_pid(self) -> int:
        return self._pid

    def close(self) -> None:
        """Stop all workers (waits for a run in progress on another thread); idempotent."""
        with self._lock:
            self._closed = True
            self._finalizer()
            self._selector.close()

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (for tests and monitoring)."""
        return [worker.process.pid for worker in self._workers]

    def isolation(self) -> Isolation:
        """The isolation layers this pool's workers run under (starts a worker if none has yet)."""
        if self._isolation is None:
            self.execute("def task(img):\n    return img\n", [[[0]]])
        return self._isolation

    # -- public API

    def execute(self, code: str, inputs, *, timeout_s: float = 1.0) -> list[np.ndarray]:
        """Run one untrusted program on ``inputs``; raise its ``ExecutionError`` if it fails.

        ``timeout_s`` bounds the whole program (module code plus ``task`` on every input).
        """
        result = self._execute_many([code], list(inputs), None, timeout_s, None)[0]
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
        if inputs and not is_grid_like(inputs[0]):
            if len(inputs) != len(programs):
                raise ValueError(f"got {len(inputs)} input lists for {len(programs)} programs")
            return self._execute_many(programs, None, inputs, timeout_s, n_workers)
        return self._execute_many(programs, inputs, None, timeout_s, n_workers)

    def _execute_many(self, programs, shared, per_program, timeout_s, n_workers) -> list:
        if not (isinstance(timeout_s, (int, float)) and 0 < timeout_s < math.inf):
            raise ValueError(f"timeout_s must be a positive finite number, got {timeout_s!r}")
        if n_workers is not None and (not isinstance(n_workers, int) or n_workers < 1):
            raise ValueError(f"n_workers must be a positive int or None, got {n_workers!r}")
        # Input sets are encoded once each; programs that share a list object share its encoding.
        sets: list[tuple[list, bytes, int]] = []
        set_of_job: list[int] = []
        if per_program is None:
            shapes, blob = wire.encode_grids([as_input_grid(g) for g in shared], "<i8")
            sets.append((shapes, blob, len(shapes)))
            set_of_job = [0] * len(programs)
        else:
            seen: dict[int, int] = {}
            for grids in per_program:
                key = id(grids)
                if key not in seen:
                    shapes, blob = wire.encode_grids([as_input_grid(g) for g in grids], "<i8")
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
            limit = n_workers or self.n_workers
            with self._lock:
                if self._closed:
                    raise RuntimeError("Sandbox is closed")
                if os.getpid() != self._pid:
                    raise RuntimeError("a Sandbox cannot be used from a forked child process; make a new one there")
                self.n_workers = max(self.n_workers, limit)
                _Batch(self, programs, set_of_job, sets, results, float(timeout_s), limit).run(runnable)
        return results

    # -- workers

    def _spawn(self) -> _Worker:
        cmd_r, cmd_w = os.pipe()
        reply_r, reply_w = os.pipe()
        try:
            process = _spawner().call(lambda: subprocess.Popen(
                worker_command(cmd_r, reply_w, self.memory_limit_mb, self.layers),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                pass_fds=(cmd_r, reply_w),
                env=_worker_env(),
                cwd="/",
                start_new_session=True,  # Ctrl-C in a terminal reaches the caller, which stops the workers
            ))
        except BaseException:
            for fd in (cmd_r, cmd_w, reply_r, reply_w):
                _close(fd)
            raise
        _close(cmd_r)
        _close(reply_w)
        os.set_blocking(cmd_w, False)
        os.set_blocking(reply_r, False)
        worker = _Worker(process, cmd_w, reply_r)
        self._selector.register(reply_r, selectors.EVENT_READ, worker)
        self._workers.append(worker)
        return worker

    def _retire(self, worker: _Worker, queue: deque, *, kill: bool) -> None:
        """Drop a worker; jobs it had not started go back to the front of the queue."""
        while worker.pending:
            queue.appendleft(worker.pending.pop())
        if worker in self._workers:
            self._workers.remove(worker)
        for fd in (worker.reply_fd, worker.cmd_fd):
            try:
                self._selector.unregister(fd)
            except (KeyError, ValueError):
                pass
        _stop_worker(worker, kill=kill)

    def _flush(self, worker: _Worker) -> bool:
        """Write what the pipe takes; False if the worker is gone."""
        try:
            while worker.outbox:
                worker.outbox = worker.outbox[os.write(worker.cmd_fd, worker.outbox) :]
        except BlockingIOError:
            pass
        except OSError:
            return False
        waiting = bool(worker.outbox)
        registered = worker.cmd_fd in self._selector.get_map()
        if waiting and not registered:
            self._selector.register(worker.cmd_fd, selectors.EVENT_WRITE, worker)
        elif registered and not waiting:
            self._selector.unregister(worker.cmd_fd)
        return True

    def _receive(self, worker: _Worker) -> tuple[list[bytes], str]:
        """Read what is there; returns the whole frames and "ok", "eof" or "oversized"."""
        status = "ok"
        try:
            while True:
                chunk = os.read(worker.reply_fd, _READ_BYTES)
                if not chunk:
                    status = "eof"
                    break
                worker.inbox += chunk
        except BlockingIOError:
            pass
        except OSError:
            status = "eof"
        frames = []
        while True:
            size = wire.frame_size(worker.inbox)
            if size is None:
                break
            if size > wire.MAX_REPLY_BYTES:
                return frames, "oversized"
            if len(worker.inbox) < size:
                break
            frames.append(bytes(worker.inbox[:size]))
            del worker.inbox[:size]
        return frames, status

    def _note_isolation(self, layers) -> None:
        global _warned
        if isinstance(layers, dict):
            layers = {**layers, "fresh": _FRESH[self.fresh]}
        report = _parse_layers(layers)
        if self._isolation is None:
            self._isolation = report
            wanted = (*self.layers, "uid") if "user" in self.layers else self.layers
            if any(name in wanted for name in report.missing) and not _warned:
                _warned = True
                warnings.warn(report.summary(), RuntimeWarning, stacklevel=_caller_stacklevel())


class _Batch:
    """One ``execute_batch`` call's schedule: hand chunks of jobs to at most ``limit`` workers, collect and
    check their replies, and blame, re-queue or retire on deadlines, deaths and malformed replies.

    Each turn of ``run``: top up the workers (``_top_up``), give each hungry one a chunk (``_dispatch``),
    wait for pipes (``_poll``: ``_on_frame`` per reply, ``_settle`` when a worker goes), then enforce
    deadlines (``_expire``)."""

    def __init__(self, pool: Sandbox, programs, set_of_job, sets, results, timeout_s: float, limit: int) -> None:
        self.pool = pool
        self.programs = programs
        self.set_of_job = set_of_job
        self.sets = sets
        self.results = results
        self.timeout_s = timeout_s
        self.grace = _grace_s(timeout_s)
        self.limit = limit
        self.queue: deque[int] = deque()
        self.solo: set[int] = set()  # jobs to send one per chunk: a worker that held their replies back died
        self.chunk_ends: set[int] = set()  # the last job of each chunk sent
        self.remaining = 0
        self.failures = 0
        self.last_failure = ""

    def run(self, runnable: list[int]) -> None:
        self.queue.extend(runnable)
        self.remaining = len(runnable)
        try:
            while self.remaining:
                self._top_up()
                self._dispatch()
                self._poll()
                self._expire()
                if self.failures >= _MAX_STARTUP_FAILURES:
                    raise RuntimeError(f"sandbox workers fail to start: {self.last_failure}")
        finally:
            # Interrupted (Ctrl-C, start-up failure): busy workers hold stale work; drop them.
            for worker in list(self.pool._workers):
                if worker.pending:
                    self.pool._retire(worker, deque(), kill=True)

    # -- the steps

    def _workers(self) -> list[_Worker]:
        """The workers this call may use: the first ``limit`` of the pool (a larger warm pool keeps the rest idle)."""
        return self.pool._workers[: self.limit]

    def _top_up(self) -> None:
        busy = sum(1 for w in self._workers() if w.pending)
        wanted = min(self.limit, len(self.queue) + busy)
        while len(self.pool._workers) < wanted:
            self.pool._spawn()

    def _dispatch(self) -> None:
        """A worker gets its next chunk while it still runs this one, so it never waits for the parent; chunks
        shrink with the queue, so the tail is still shared out."""
        workers = self._workers()
        for worker in [w for w in workers if w.ready and len(w.pending) <= _REFILL_AT and not w.outbox]:
            if not self.queue:
                break
            self._send(worker, self._next_chunk(len(workers)))

    def _next_chunk(self, n_workers: int) -> list[int]:
        queue = self.queue
        if queue[0] in self.solo:
            return [queue.popleft()]
        most = _MAX_SHARED_CHUNK if self.pool.fresh == "chunk" else _MAX_CHUNK
        size = max(1, min(most, len(queue) // (4 * n_workers)))
        chunk = []
        while queue and len(chunk) < size and queue[0] not in self.solo:
            chunk.append(queue.popleft())
        return chunk

    def _send(self, worker: _Worker, chunk: list[int]) -> None:
        self.chunk_ends.difference_update(chunk)  # a re-queued job may now sit mid-chunk
        self.chunk_ends.add(chunk[-1])
        used_sets = sorted({self.set_of_job[j] for j in chunk})
        local = {s: i for i, s in enumerate(used_sets)}
        header = {
            "fresh": self.pool.fresh,
            "timeout": self.timeout_s,
            "sets": [self.sets[s][0] for s in used_sets],
            "jobs": [[j, self.programs[j], local[self.set_of_job[j]]] for j in chunk],
        }
        worker.outbox = memoryview(wire.pack(header, b"".join(self.sets[s][1] for s in used_sets)))
        if not worker.pending:  # a busy worker's deadline is that of the job it is running
            worker.deadline = time.monotonic() + self.timeout_s + self.grace
        worker.pending.extend(chunk)
        if not self.pool._flush(worker):
            self.pool._retire(worker, self.queue, kill=True)  # it died idle: nothing to blame

    def _poll(self) -> None:
        pool = self.pool
        now = time.monotonic()
        deadlines = [w.deadline for w in pool._workers if w.ready and w.pending]
        deadlines += [w.started + _STARTUP_TIMEOUT_S for w in pool._workers if not w.ready]
        wait_s = max(0.0, min(deadlines, default=now + 1.0) - now)
        for key, events in pool._selector.select(timeout=min(wait_s, 5.0)):
            worker = key.data
            if worker not in pool._workers:
                continue
            if events & selectors.EVENT_WRITE and not pool._flush(worker):
                pool._retire(worker, self.queue, kill=True)  # it died before reading its jobs
                continue
            if not events & selectors.EVENT_READ:
                continue
            frames, status = pool._receive(worker)
            for frame in frames:
                outcome = self._on_frame(worker, frame)
                if outcome != "keep":
                    status = "retire" if outcome == "retire" else "broken"
                    break
            if status != "ok":
                self._settle(worker, status)

    def _expire(self) -> None:
        now = time.monotonic()
        for worker in list(self.pool._workers):
            if worker.ready and worker.pending and now > worker.deadline:
                self._blame_or_isolate(worker, ExecutionTimeout(f"program exceeded the {self.timeout_s:g} s time limit"))
                self.pool._retire(worker, self.queue, kill=True)
            elif not worker.ready and now > worker.started + _STARTUP_TIMEOUT_S:
                self.failures += 1
                self.last_failure = "worker did not start in time"
                self.pool._retire(worker, self.queue, kill=True)

    # -- replies and blame

    def _finish(self, job: int, value) -> None:
        if self.results[job] is None:
            self.results[job] = value
            self.remaining -= 1

    def _blame_current(self, worker: _Worker, error: ExecutionError) -> None:
        if worker.pending:
            self._finish(worker.pending.popleft(), error)

    def _blame_or_isolate(self, worker: _Worker, error: ExecutionError) -> None:
        """The worker hung or died: blame the first unanswered job if nothing of its chunk can be held back
        (it ends its chunk), else re-run the suspects one per chunk."""
        if not worker.pending or worker.pending[0] in self.chunk_ends:
            self._blame_current(worker, error)
        else:
            self.solo.update(worker.pending)  # _retire puts them back at the front of the queue

    def _on_frame(self, worker: _Worker, frame: bytes) -> str:
        """Returns "keep", "retire" (worker goes, nobody to blame) or "broken" (worker goes)."""
        try:
            header, blob = wire.unpack(frame)
        except (ValueError, struct.error, UnicodeDecodeError, RecursionError):
            self._blame_current(worker, ExecutionRuntimeError("sandbox worker sent a malformed reply"))
            return "broken"
        if not worker.ready:
            try:
                if header.get("ready") is not True:
                    raise ValueError(one_line(str(header.get("fatal", "no ready message"))))
                self.pool._note_isolation(header.get("layers"))
            except ValueError as exc:
                self.last_failure = str(exc)
                return "broken"
            worker.ready = True
            self.failures = 0
            return "keep"
        if not worker.pending or header.get("id") != worker.pending[0]:
            self._blame_current(worker, ExecutionRuntimeError("sandbox worker sent an unexpected reply"))
            return "broken"
        job = worker.pending[0]
        try:
            value = wire.decode_reply(header, blob, self.sets[self.set_of_job[job]][2])
        except (ValueError, TypeError, KeyError):
            self._blame_current(worker, ExecutionRuntimeError("sandbox worker sent a malformed reply"))
            return "broken"
        self._finish(worker.pending.popleft(), value)
        worker.deadline = time.monotonic() + self.timeout_s + self.grace
        return "retire" if header.get("retire") is True else "keep"

    def _settle(self, worker: _Worker, status: str) -> None:
        """A worker's pipe ended ("eof"), overflowed ("oversized") or it misbehaved: blame, then retire it."""
        if status == "oversized":
            self._blame_current(worker, ExecutionRuntimeError("sandbox worker sent a malformed reply"))
        elif status == "eof":
            try:
                returncode = worker.process.wait(1.0)
            except subprocess.TimeoutExpired:
                returncode = None
            if worker.ready:
                self._blame_or_isolate(worker, _exit_error(returncode))
            else:
                self.last_failure = self.last_failure or f"worker exited during start-up (exit code {returncode})"
        if not worker.ready:
            self.failures += 1
        self.pool._retire(worker, self.queue, kill=True)


# The module-level API: one shared pool per process.

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
