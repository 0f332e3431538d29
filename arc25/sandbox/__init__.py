"""Run untrusted ``def task(img): ... return img`` programs (anything a language model wrote).

Threat model
------------
A model-written program is arbitrary Python, and we assume the worst: that it breaks out of the
Python-level restrictions and runs arbitrary code (any system call the filter allows, ctypes,
raw memory) inside its process. It may then try to:

* read or write files, reach the network, start processes, or change its limits or credentials;
* reach other processes: signal, renice, re-limit, pin or trace them (directly or through
  ``fcntl``/``ioctl`` owner tricks), including the caller, sibling workers and processes of the
  same uid; use the host's System V IPC or POSIX message queues, or leave objects behind there;
* learn anything of another job (its source, inputs, compiled code, outputs, reply or error) by
  reading its own memory, or use another program's work as its own;
* change the result of another program: poison the state the next program starts from
  (modules, proxies, builtins, caches, generators, timers, the flags of a shared open file), kill
  the worker running another program so that it is blamed, or answer in another program's name;
* outlive its deadline or its caller; exhaust the machine (loops, C calls, memory, recursion,
  huge integers, print floods); lie about its result or crash its worker.

Which layer stops what, outermost first (``arc25/sandbox/confinement.py`` has the details):

1. The caller's process never runs untrusted code: programs run in worker processes (fresh
   interpreters started by ``subprocess`` from one long-lived thread) that answer over pipes in a
   JSON + raw bytes format (``wire``, never pickle); the parent re-validates every grid. A worker is
   an outer process that only waits; a zygote (pid 1 of the worker's own pid namespace) that reads
   jobs, enforces each program's wall-clock deadline (SIGKILL) and relays its one reply under the
   job id it started it for; a **template** that the zygote forks at start-up, before any job, and
   that only forks; and **one process per program**, forked from the template. What a program's
   process holds is what an escaped program can take, so it holds its own job and nothing else:
   the template never held a job (no source, input, compiled code, output, reply or error of any
   program; there is no compile cache), the job (source, inputs, time limit) reaches the child
   after the fork over its own pipe, the child checks and compiles it itself (within its own
   limits), and its reply goes to the zygote, from which no program's process is forked. The
   child's descriptors are its two pipe ends, nothing else (no 0-2: no open file shared with
   another process). No program starts from state another left, none can answer for another, and
   its limits do not move with history (the template, whose size they start from, never grows).
2. The operating system, each layer where the kernel allows it and reported where it does not
   (``isolation()``; a one-line warning on first use): own network, mount (empty read-only root),
   pid, IPC and UTS namespaces; a uid (and gid) no other process has, no groups, no capabilities
   (as root; a non-root caller's workers keep its uid inside a user namespace, and the report says
   so); seccomp filters refusing sockets, exec, signals, open, namespaces, mounts, credentials,
   ptrace, keyrings, bpf, io_uring, memfd, System V IPC, message queues, priorities, affinities,
   I/O priorities, NUMA moves, inotify, mlock, sync, changes to (and locks on) open files,
   ``fcntl``/``ioctl`` beyond a few harmless commands, writable+executable mappings, and in a
   program's process also fork/clone, kill, prctl, rlimit changes and any change of an open file's
   status flags (F_SETFL, FIONBIO); limits (address space: the template's start-up size plus the
   allowance, the same for every program; a hard CPU limit per program, counted from its fork, its
   check and compile included; RLIMIT_NPROC 0, no files, no core dumps, no locked memory, no queued
   signals); death with the caller (parent-death signals on every generation, a lifeline pipe, the
   pid namespace's teardown).
3. A static check of the program's syntax (``policy``) and 4. a restricted runtime (both in ``policy``):
   a filter, not the boundary. Whitelisted modules and names, no dunders, attribute stores only on
   ``self``, guarded ``**``/``<<``, item stores that refuse dunder keys, ``deepcopy`` without a memo,
   ``hash`` without addresses, new builtins and module proxies per program, silent ``print``, and
   numbers-only numpy: arrays of Python objects (whose in-place sort calls a program's comparison
   while numpy holds raw pointers: a use-after-free) or of strings, bytes, void or datetimes are
   refused by every numpy function and ufunc (arguments, ``dtype=`` and results), by the DSL's
   functions and by the array methods that convert or loop over elements (``astype``, ``view``,
   ``sort``...), and the output check takes integer grids only. An array made from a list of
   objects by an operator (``[obj] + arr``) is still possible, but none of those take it.

Tested as an attacker would (``tests/test_sandbox_attacks.py``, ``tests/test_sandbox_os.py``):
each class of attack runs with arbitrary code inside a worker set up like a real one, beside a
control without the layers that shows the same probe does the damage.

Out of scope: kernel exploits and CPU side channels; memory, CPU and wall time within a program's
own allowance; a non-root caller's uid is shared with its workers (per-user kernel counters such
as inotify or pipe quotas are shared; the pid namespace hides every process of that uid);
``Sandbox(fresh="chunk")`` trades the per-program process for speed (an escaped program can then
read and affect the programs of its chunk, which share its inputs: one process gets all their sources); seccomp is x86-64 only (x32
and foreign-architecture system calls kill the process); the trusted path (``arc25.programs.trusted``, which
uses this package's public names: its errors, grid checks and read-only module stand-in) has no
isolation at all and is only for our own generated programs. Without Linux only layers 1, 3 and 4
and the resource limits apply, and there is no template: the zygote, which holds the chunk's jobs,
forks the programs' processes itself.
"""

from arc25.programs.errors import (
    ExecutionError,
    ExecutionMemoryError,
    ExecutionRuntimeError,
    ExecutionTimeout,
    ForbiddenCode,
    InvalidOutput,
    InvalidProgram,
    describe,
    one_line,
)
from arc25.programs.grids import as_input_grid, validate_grid
from arc25.sandbox.confinement import Isolation
from arc25.sandbox.policy import ALLOWED_MODULES, ALLOWED_NUMPY_NAMES, PROGRAM_FILENAME, check_program
from arc25.sandbox.pool import Sandbox, default_sandbox, execute, execute_batch, isolation
from arc25.programs.readonly import ReadOnlyModule

__all__ = [
    "ALLOWED_MODULES",
    "ALLOWED_NUMPY_NAMES",
    "PROGRAM_FILENAME",
    "ExecutionError",
    "ExecutionMemoryError",
    "ExecutionRuntimeError",
    "ExecutionTimeout",
    "ForbiddenCode",
    "InvalidOutput",
    "InvalidProgram",
    "Isolation",
    "ReadOnlyModule",
    "Sandbox",
    "as_input_grid",
    "check_program",
    "default_sandbox",
    "describe",
    "execute",
    "execute_batch",
    "isolation",
    "one_line",
    "validate_grid",
]
