"""Run untrusted ``def task(img): ... return img`` programs (anything a language model wrote).

Threat model
------------
A model-written program is arbitrary Python. By mistake or by design it may try to:

* read or write files (``open``, ``np.save``, ``/proc``, ``/etc``), or list directories;
* reach the network (sockets, DNS), or other processes (``os.kill`` of its parent, ptrace);
* start processes (``os.system``, ``subprocess``, ``fork``, ``exec``) or fork-bomb;
* change its limits, its credentials, or escape its namespaces (``setrlimit``, ``unshare``, mounts);
* escape the restricted runtime in-process (``__subclasses__``, frames, ``__globals__``, ctypes,
  ``eval``/``exec``) to do any of the above, or to tamper with later programs in the same worker;
* exhaust the machine: infinite loops, CPU-bound C calls, huge integers, memory bombs, recursion,
  print floods;
* lie about its result (ill-formed grids) or crash its worker.

Which layer stops what, outermost first:

1. The caller's process never runs untrusted code: programs run in worker processes, fresh
   interpreters started by ``subprocess`` (``pool``), that answer over pipes in a JSON + raw bytes
   format (``wire``, never pickle); the parent re-validates every grid it is sent. A wall-clock
   deadline per program: the parent kills and replaces a worker that passes it or dies, and
   blames the program it was running.
2. The operating system (``confinement``), each layer where the kernel allows it, reported where it
   does not (``isolation()``; a one-line warning on first use): no network (an empty network
   namespace), no filesystem (an empty read-only root in its own mount namespace), an
   unprivileged user (``nobody`` as root, else a user namespace), no new processes
   (RLIMIT_NPROC 0), a seccomp filter refusing sockets, fork/exec, signals to other processes,
   ``open``, namespace, mount and credential calls; and resource limits (address space, CPU
   seconds, no file growth, no core dumps, no new privileges).
3. A static check of the program's syntax (``policy``): a whitelist of modules (numpy, the DSL,
   math, itertools, collections, functools, copy, typing) and of their names, no dunder names or
   attributes except the dunder methods of the program's own classes, attribute assignment only on
   ``self`` in those methods, no reflective builtins, no attributes that lead to files, memory,
   frames or code objects.
4. A restricted runtime (``runtime``): fresh builtins and a class registry per program, read-only
   module proxies holding only the whitelisted names; ``**`` and ``<<`` on ints guarded against
   huge results; ``print`` swallowed; an in-worker alarm that turns an overrun into ``ExecutionTimeout``.

Layers 3-4 keep programs from reaching the worker's internals (and from tampering with the next
program in the same worker); layer 2 confines a worker that got there anyway. Layer 2 replaced the
audit hook (``sys.addaudithook``) that used to refuse file, socket, process and import events: the
kernel now refuses those for the whole process, including C code the hook never saw, and
CPython's documentation says audit hooks are not a sandbox.

Out of scope: kernel exploits and CPU side channels (a program that breaks the kernel breaks every
layer of 2); a program that escapes layers 3-4 can still spend its CPU and memory allowance and
corrupt the results of the programs that run after it in the same worker; the trusted path
(``arc25.trusted``, ``execute(..., untrusted=False)``) has no isolation at all and is only for
our own generated programs. Without Linux only layers 1, 3 and 4 and the resource limits apply.
"""

from arc25.sandbox.api import default_sandbox, execute, execute_batch, isolation
from arc25.sandbox.errors import (
    ExecutionError,
    ExecutionMemoryError,
    ExecutionRuntimeError,
    ExecutionTimeout,
    ForbiddenCode,
    InvalidOutput,
    InvalidProgram,
)
from arc25.sandbox.grids import validate_grid
from arc25.sandbox.confinement import Isolation
from arc25.sandbox.policy import ALLOWED_MODULES, ALLOWED_NUMPY_NAMES, check_program
from arc25.sandbox.pool import Sandbox

__all__ = [
    "ALLOWED_MODULES",
    "ALLOWED_NUMPY_NAMES",
    "ExecutionError",
    "ExecutionMemoryError",
    "ExecutionRuntimeError",
    "ExecutionTimeout",
    "ForbiddenCode",
    "InvalidOutput",
    "InvalidProgram",
    "Isolation",
    "Sandbox",
    "check_program",
    "default_sandbox",
    "execute",
    "execute_batch",
    "isolation",
    "validate_grid",
]
