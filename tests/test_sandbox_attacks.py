"""Attacks on the sandbox, one class per test, each beside a control that shows the probe would see a breach.

Most attacks assume the worst: a program that already broke out of Python's restrictions (arbitrary
code in its process, ctypes and raw system calls at hand). The harness below runs the real worker
start-up (``worker.set_up``: warm-up, every OS layer, the zygote) in a subprocess and then hands
``worker.run_in_child`` — the zygote's own path — code compiled *without* the static check, whose
first lines climb from ``()`` to ``sys.modules``. Each attempt is scored in the grid the program
returns: 0 allowed, 1 PermissionError, 2 other OSError, 3 other exception.

Classes: poisoning later programs, reaching other processes (signals, priorities, limits, affinity,
fcntl/ioctl owner tricks), System V IPC and message queues (host objects, leftovers), kernel calls
the filter refuses, the caller's death, misattribution (a sibling killed, leftover timers), the
Python-level leak paths (deepcopy's memo, dunder keys, hash, a local named np), a non-root caller.
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from arc25.sandbox import (ExecutionError, ExecutionRuntimeError, ExecutionTimeout, ForbiddenCode, Sandbox, execute,
                           execute_batch, wire)
from arc25.programs.errors import MAX_MESSAGE_CHARS
from arc25.programs.trusted import execute_trusted

LINUX = sys.platform.startswith("linux")
ROOT = Path(__file__).resolve().parents[1]
ALL = ("network", "filesystem", "user", "processes", "seccomp", "pid", "ipc", "uts")
pytestmark = pytest.mark.skipif(not LINUX, reason="the OS layers are Linux")

_HARNESS = r"""
import json, os, sys, time
import numpy as np
from arc25.sandbox import worker

cfg = json.loads(sys.argv[1])
out = os.dup(int(cfg["out"]))
steps_fd = os.dup(int(cfg["steps"]))  # read once set up, as a worker reads its jobs: the template never sees them
_checked = worker._compile
def _compile(code):  # no static check for a step marked raw: as if it had been defeated
    if code.startswith("#raw\n"):
        return compile(code, "<escaped>", "exec")
    return _checked(code)
worker._compile = _compile
report, lifeline = worker.set_up(512, tuple(cfg["layers"]))
data = b""
while chunk := os.read(steps_fd, 1 << 16):
    data += chunk
steps = json.loads(data)
grids = [np.zeros((3, 3), dtype=np.int64)]
runs, times = [], []
def prepare(step):
    return "#raw\n" + step["code"] if step["raw"] else step["code"]

def record(header, blob):
    if header.get("ok"):
        rows, cols = header["shapes"][0]
        runs.append(np.frombuffer(blob, dtype=np.uint8)[: rows * cols].reshape(rows, cols).tolist())
    else:
        runs.append(header["err"] + ": " + header["msg"])

for step in steps:
    if "chunk" in step:  # several programs in one process, as Sandbox(fresh="chunk") runs them
        replies = worker.run_in_children([prepare(s) for s in step["chunk"]], grids, step.get("timeout", 5.0), lifeline,
                                         shared=True)
        for header, blob in replies:
            record(header, blob)
        continue
    start = time.monotonic()
    step_grids = [np.array(step["grid"], dtype=np.int64)] if "grid" in step else grids
    if step.get("buried"):  # as the zygote serves: an answered child is killed and reaped later, not waited for
        record(*worker.run_in_children([prepare(step)], step_grids, step.get("timeout", 5.0), lifeline)[0])
    else:
        record(*worker.run_in_child(prepare(step), step_grids, step.get("timeout", 5.0), lifeline))
    times.append(time.monotonic() - start)
os.write(out, json.dumps({"report": report, "runs": runs, "times": times}).encode())
os._exit(0)
"""

# Arbitrary code: from () to sys.modules, then ctypes for any system call.
_ESCAPE = """
def _modules():
    for cls in ().__class__.__base__.__subclasses__():
        if cls.__name__ == "_wrap_close":
            return cls.__init__.__globals__["sys"].modules
M = _modules()
os, ctypes, signal, resource, B = M["os"], M["ctypes"], M["signal"], M["resource"], M["builtins"]
libc = ctypes.CDLL(None, use_errno=True)
SCORES = []

def attempt(action):
    try:
        result = action()
        if isinstance(result, int) and result < 0:
            err = ctypes.get_errno()
            raise B.OSError(err, os.strerror(err))
        SCORES.append(0)
    except B.PermissionError:
        SCORES.append(1)
    except (B.OSError, B.ValueError) as exc:  # resource.setrlimit/prlimit say EPERM as ValueError
        SCORES.append(1 if "not allowed" in B.str(exc) else 2)
    except B.BaseException:
        SCORES.append(3)

def task(img):
    return [SCORES or [0]]
"""


def escaped(body: str) -> str:
    return _ESCAPE + textwrap.dedent(body)


_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


@functools.lru_cache(maxsize=None)
def nobody_python() -> str | None:
    """An interpreter that nobody can run and that can start itself again (a venv under /root may not be one)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return None
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (sys.executable, getattr(sys, "_base_executable", None), f"/usr/bin/python{version}",
                      f"/usr/local/bin/python{version}"):
        if not candidate or not os.path.exists(candidate):
            continue
        check = ("import subprocess, sys, numpy; "
                 "subprocess.run([sys.executable, '-I', '-c', 'pass'], check=True, cwd='/')")
        proc = subprocess.run([*_NOBODY, candidate, "-c", check], env=caller_env(), capture_output=True, cwd="/",
                              timeout=120, check=False)
        if proc.returncode == 0:
            return candidate
    return None


def caller_env() -> dict:
    import site

    # The venv's packages, for an interpreter outside it that runs as nobody.
    packages = [path for path in site.getsitepackages() if path.endswith("site-packages")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *packages]), "OMP_NUM_THREADS": "1"}


def as_caller(nobody: bool) -> list[str]:
    """The command prefix that starts a caller: this interpreter, or one run as nobody."""
    if not nobody:
        return [sys.executable]
    python = nobody_python()
    if python is None:
        pytest.skip("needs root, setpriv and an interpreter that nobody can run")
    return [*_NOBODY, python]


def harness(tmp_path: Path, layers, steps, *, nobody: bool = False, caller: list[str] | None = None,
            timeout: float = 120) -> dict:
    """Run ``steps`` ({"code", "raw"}) in a worker set up with ``layers``; returns {"report", "runs", "times"}.

    ``caller``: the command that starts the caller's interpreter (default: ``as_caller(nobody)``)."""
    command = caller or as_caller(nobody)
    read_fd, write_fd = os.pipe()
    steps_r, steps_w = os.pipe()
    cfg = {"out": write_fd, "layers": list(layers), "steps": steps_r}
    output: list[bytes] = []
    # Read while it runs: a record larger than the pipe's buffer must not block the harness until its timeout.
    reader = threading.Thread(target=lambda: output.append(os.fdopen(read_fd, "rb").read()))
    reader.start()
    # The steps go through a pipe that the worker reads once set up (never on its command line).
    writer = threading.Thread(target=lambda: _write_and_close(steps_w, json.dumps(steps).encode()), daemon=True)
    writer.start()
    try:
        proc = subprocess.run([*command, "-c", _HARNESS, json.dumps(cfg)], pass_fds=(write_fd, steps_r), cwd="/",
                              capture_output=True, timeout=timeout, env=caller_env(), check=False)
    finally:
        os.close(write_fd)
        os.close(steps_r)
        reader.join()
    data = output[0] if output else b""
    assert proc.returncode == 0 and data, proc.stderr.decode()[-3000:]
    return json.loads(data)


def _write_and_close(fd: int, data: bytes) -> None:
    try:
        wire.write_all(fd, data)
    except OSError:
        pass
    finally:
        os.close(fd)


def _all_on(report: dict, layers=ALL) -> None:
    off = {name: report[name] for name in layers if not report[name].startswith("on")}
    if off:
        pytest.skip(f"the kernel refused these layers here: {off}")


# --------------------------------------------------------------------------- poisoning later programs

_POISONS = {
    # The proxies' exports, the DSL's defaults, the restricted builtins: what every later program reads.
    "numpy_function": 'M["arc25.sandbox.policy"]._MODULE_EXPORTS["numpy"]["rot90"] = lambda m, *a, **k: m * 0 + 7\n',
    "dsl_default": 'M["arc25.dsl"].create_img.__defaults__ = (5,)\n',
    "builtin": 'M["arc25.sandbox.policy"]._SAFE_BUILTINS["len"] = lambda x: 8\n',
    # A suspended generator in cyclic garbage: its finally burns the time of whoever collects it.
    "generator_finally": ("def _g():\n    try:\n        yield 1\n    finally:\n        while True:\n            pass\n"
                          "def _make():\n    g = _g()\n    next(g)\n    c = [g]\n    c.append(c)\n_make()\n"),
    # Timers left running: the default action of SIGALRM / SIGPROF kills whoever runs when they fire.
    "timer": "signal.signal(signal.SIGALRM, signal.SIG_DFL)\nsignal.setitimer(signal.ITIMER_REAL, 0.2)\n",
    "cpu_timer": "signal.signal(signal.SIGPROF, signal.SIG_DFL)\nsignal.setitimer(signal.ITIMER_PROF, 0.2)\n",
}
_CHECK = "def task(img):\n    return np.rot90(create_img((2, 3))) + len([1])\n"
_CLEAN = [[1, 1], [1, 1], [1, 1]]
# The control: the check, compiled and run exactly as the worker would, but in the poisoner's own process
# (after the collector ran and 0.6 s and 0.3 s of its CPU went by, as if later programs had come: on a busy machine
# 0.6 s may hold less CPU time than the poison's CPU timer waits for).
_SAME_PROCESS = f"""
_code = M["arc25.sandbox.policy"].compile_untrusted({_CHECK!r})
def task(img):
    M["gc"].collect()
    _until, _cpu_until = M["time"].monotonic() + 0.6, M["time"].process_time() + 0.3
    while M["time"].monotonic() < _until or M["time"].process_time() < _cpu_until:
        pass
    _ns = M["arc25.sandbox.policy"].untrusted_namespace()
    M["builtins"].exec(_code, _ns)
    return _ns["task"](img)
"""


@pytest.mark.parametrize("poison", sorted(_POISONS))
def test_a_program_cannot_poison_the_next_one_even_with_arbitrary_code(tmp_path, poison):
    code = escaped(_POISONS[poison])
    found = harness(tmp_path, ALL, [
        {"code": code, "raw": True},
        {"code": _CHECK, "raw": False, "timeout": 3.0},
        {"code": code + _SAME_PROCESS, "raw": True, "timeout": 3.0},  # control
    ])
    assert found["runs"][0] == [[0]], found["runs"]  # the poison itself ran
    assert found["runs"][1] == _CLEAN, found["runs"]
    assert found["runs"][2] != _CLEAN, f"control: {poison} did not act in its own process: {found['runs']}"


# --------------------------------------------------------------------------- other processes


def _victim(user: list[str]) -> subprocess.Popen:
    return subprocess.Popen([*user, "sleep", "120"])


def _state(pid: int) -> dict:
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    limits = [line for line in Path(f"/proc/{pid}/limits").read_text().splitlines() if line.startswith("Max open files")]
    return {"state": stat[0], "nice": int(stat[16]), "nofile": limits[0].split()[3],
            "affinity": sorted(os.sched_getaffinity(pid))}


def _outside_attacks(victim: int, victim_uid: int, caller: int) -> str:
    return escaped(f"""
        V, UID, CALLER = {victim}, {victim_uid}, {caller}
        attempt(lambda: os.kill(V, 0))
        attempt(lambda: os.kill(CALLER, 0))
        attempt(lambda: os.setpriority(os.PRIO_PROCESS, V, 7))
        attempt(lambda: os.setpriority(os.PRIO_USER, UID, 7))
        attempt(lambda: resource.prlimit(V, resource.RLIMIT_NOFILE, (5, 5)))
        attempt(lambda: os.sched_setaffinity(V, {{0}}))
        attempt(lambda: libc.syscall(251, 1, V, (2 << 13) | 7))  # ioprio_set(IOPRIO_WHO_PROCESS, V, best effort 7)
        attempt(lambda: libc.syscall(279, V, 0, None, None, None, 0))  # move_pages(V, no pages)
        _r, _w = os.pipe()
        attempt(lambda: libc.fcntl(_r, 8, V))  # F_SETOWN: SIGIO to V
        attempt(lambda: libc.fcntl(_r, 10, 9))  # F_SETSIG: make it SIGKILL
        attempt(lambda: libc.fcntl(_r, 4, 0o20000))  # F_SETFL O_ASYNC
        _pid = ctypes.c_int(V)
        attempt(lambda: libc.ioctl(_r, 0x8901, ctypes.byref(_pid)))  # FIOSETOWN
        attempt(lambda: os.kill(-1, 0))  # is there anyone at all to signal?
    """)


def _run_outside(tmp_path, layers, *, nobody: bool):
    as_caller(nobody)  # skips early when there is no way to be nobody
    victim = _victim(_NOBODY)
    try:
        time.sleep(0.2)
        before = _state(victim.pid)
        uid = os.stat(f"/proc/{victim.pid}").st_uid
        found = harness(tmp_path, layers, [{"code": _outside_attacks(victim.pid, uid, os.getpid()), "raw": True}],
                        nobody=nobody)
        after = _state(victim.pid) if victim.poll() is None else "dead"
    finally:
        victim.kill()
        victim.wait()
    return found, before, after


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="runs the victim as nobody")
def test_an_escaped_program_cannot_reach_another_process(tmp_path):
    found, before, after = _run_outside(tmp_path, ALL, nobody=False)
    _all_on(found["report"])
    assert found["report"]["uid"].startswith("on"), found["report"]
    scores = found["runs"][0][0]
    assert len(scores) == 13 and 0 not in scores, scores
    assert after == before
    # Control: with no layer the same probe renices, limits, pins and signals the victim.
    control, before, after = _run_outside(tmp_path, (), nobody=False)
    scores = control["runs"][0][0]
    # (prlimit on another process also needs CAP_SYS_RESOURCE, which some containers do not grant)
    assert scores[:4] == [0, 0, 0, 0] and scores[5] == 0 and scores[8:11] == [0] * 3 and scores[12] == 0, scores
    assert after == "dead"  # F_SETOWN + F_SETSIG(SIGKILL) + O_ASYNC: the pipe's hang-up killed the victim


@pytest.mark.skipif(shutil.which("setpriv") is None or os.geteuid() != 0, reason="needs setpriv and root to become nobody")
def test_a_non_root_caller_is_held_too(tmp_path):
    """The caller runs as nobody (a user namespace maps only its own uid), and so does the victim: same uid."""
    found, before, after = _run_outside(tmp_path, ALL, nobody=True)
    _all_on(found["report"], tuple(name for name in ALL if name != "uid"))
    report = found["report"]
    assert report["user"].startswith("on (the caller's uid 65534 alone in a user namespace"), report
    assert report["uid"].startswith("off: shares the caller's uid 65534"), report  # said, not hidden
    assert "inside a user namespace" in report["pid"]
    scores = found["runs"][0][0]
    assert 0 not in scores, scores
    assert after == before
    control, _, after = _run_outside(tmp_path, ("filesystem",), nobody=True)  # not even a pid namespace
    scores = control["runs"][0][0]
    assert scores[0] == 0 and scores[2] == 0 and after == "dead", (control, after)  # same uid: signalled and killed


_HELD_FILE = escaped("""
    # Descriptors 0-2 are the host's /dev/null, opened before the root changed. Its own mode, the time it is now and
    # a shared lock dropped at once change nothing anyone sees, and show that the program could give it a mode that
    # breaks every process on the host (000), or an exclusive lock that outlives the program (the zygote shares the
    # open file) and hangs every process that locks it while the worker lives.
    attempt(lambda: libc.syscall(91, 0, 0o666))  # fchmod
    attempt(lambda: libc.syscall(73, 0, 1 | 4))  # flock(LOCK_SH | LOCK_NB)
    libc.syscall(73, 0, 8)  # LOCK_UN
    attempt(lambda: libc.syscall(280, 0, None, None, 0))  # utimensat(fd, NULL, now)
""")


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None or os.stat("/dev/null").st_mode & 0o777 != 0o666,
                    reason="needs root, setpriv (to take CAP_SYS_ADMIN away) and a /dev/null of mode 666")
@pytest.mark.parametrize("caller", ["root", "root without CAP_SYS_ADMIN"])
def test_an_escaped_program_cannot_change_the_host_file_it_holds(tmp_path, caller):
    """Without CAP_SYS_ADMIN the namespaces come from a user namespace, and unsharing one changes no id: the worker
    stayed the host's root, owner of the host's /dev/null, whatever uid the report named. And any worker could lock
    it, or set its times."""
    command = [sys.executable] if caller == "root" else ["setpriv", "--bounding-set=-sys_admin", sys.executable]
    found = harness(tmp_path, ALL, [{"code": _HELD_FILE, "raw": True}], caller=command)
    _all_on(found["report"])
    assert 0 not in found["runs"][0][0], found["runs"]  # a program's process holds no descriptor 0 now
    # Control: as the caller (root, no layer), the same program, holding the host's /dev/null as descriptor 0 (as
    # every program's process once did), may change the file.
    holding = _HELD_FILE.replace("\ndef task(img):", "\nos.dup2(os.open('/dev/null', os.O_RDWR), 0)\ndef task(img):", 1)
    control = harness(tmp_path, (), [{"code": holding, "raw": True}], caller=command)
    assert control["runs"][0] == [[0, 0, 0]], control["runs"]


_MAKE_TIMERS = """
_id = ctypes.c_int()
_made = 0
while _made < 9 and libc.syscall(222, 1, None, ctypes.byref(_id)) == 0:  # timer_create(CLOCK_MONOTONIC)
    _made += 1
"""
_TIMERS = escaped(_MAKE_TIMERS + "def task(img):\n    return [[_made]]\n")


@pytest.mark.parametrize("caller", ["root", "root without CAP_SYS_ADMIN"])
def test_an_escaped_program_cannot_hold_queued_signals(tmp_path, caller):
    """A POSIX timer holds a queued signal's kernel memory, outside the address-space limit, and only the per-uid
    count of queued signals bounded them; a user namespace charges that count to its owner too. Without
    CAP_SYS_ADMIN a program that made them all (~100k) left the host's root unable to create a timer or queue a
    signal while it ran."""
    if caller != "root" and (os.geteuid() != 0 or shutil.which("setpriv") is None):
        pytest.skip("needs root and setpriv to take CAP_SYS_ADMIN away")
    command = [sys.executable] if caller == "root" else ["setpriv", "--bounding-set=-sys_admin", sys.executable]
    found = harness(tmp_path, ALL, [{"code": _TIMERS, "raw": True}], caller=command)
    _all_on(found["report"])
    assert found["runs"][0] == [[0]], found["runs"]
    # Control: the caller's own process makes them.
    control = "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n" + _MAKE_TIMERS + "print(_made)\n"
    made = subprocess.run([*command, "-c", control],
                          capture_output=True, text=True, env=caller_env(), cwd="/", timeout=60, check=False)
    assert made.stdout.strip() == "9", made.stderr[-2000:]


_OWNERS = """
import os
from arc25.sandbox import Sandbox
pool = Sandbox(n_workers=1)
pool.execute("def task(img):\\n    return img\\n", [[[1]]])
print(os.stat(f"/proc/{pool.worker_pids()[0]}/fd").st_uid, os.stat(f"/proc/{os.getpid()}/fd").st_uid)
"""


def test_a_non_root_callers_workers_leave_no_core_dump():
    """RLIMIT_CORE 0 stops only the core files the kernel writes itself: a pipe core_pattern (systemd-coredump,
    apport) gets the whole memory of a crashed process that is dumpable, through a helper running as root on the
    host. A non-root caller's workers were (their uid never changes), and a program can crash its process at will."""
    command = as_caller(True)
    proc = subprocess.run([*command, "-c", _OWNERS], capture_output=True, text=True, env=caller_env(), cwd="/",
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    worker, caller = proc.stdout.split()
    # The kernel gives a process's /proc files to root when it is not dumpable, to the process's uid when it is.
    assert worker == "0", proc.stdout
    assert caller == "65534"  # control: the caller itself is dumpable, and the probe sees it


# --------------------------------------------------------------------------- System V IPC and message queues


def _ipc_ids() -> dict:
    ids = {}
    for kind in ("shm", "msg", "sem"):
        lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]
        ids[kind] = {int(line.split()[1]) for line in lines if line.strip()}
    return ids


def _remove_ipc(before: dict) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    now = _ipc_ids()
    for shmid in now["shm"] - before["shm"]:
        libc.shmctl(shmid, 0, None)  # IPC_RMID
    for msqid in now["msg"] - before["msg"]:
        libc.msgctl(msqid, 0, None)
    for semid in now["sem"] - before["sem"]:
        libc.semctl(semid, 0, 0)
    libc.mq_unlink(b"/arc25-probe")


_IPC_ATTACKS = """
    libc.shmat.restype = ctypes.c_void_p
    def _attach():
        address = libc.shmat(HOST, None, 0o10000)  # SHM_RDONLY
        if address in (None, 2 ** 64 - 1):
            raise B.OSError(ctypes.get_errno(), "shmat")
    attempt(_attach)
    attempt(lambda: libc.shmget(0, 4096, 0o1600))  # IPC_PRIVATE, IPC_CREAT | 0600
    attempt(lambda: libc.msgget(0, 0o1600))
    attempt(lambda: libc.semget(0, 1, 0o1600))
    attempt(lambda: libc.mq_open(b"/arc25-probe", 0o102, 0o600, None))  # O_CREAT | O_RDWR
"""


def test_ipc_of_the_host_is_out_of_reach_and_nothing_is_left_behind(tmp_path):
    libc = ctypes.CDLL(None, use_errno=True)
    host = libc.shmget(0, 4096, 0o1666)
    assert host >= 0
    before = _ipc_ids()
    try:
        code = escaped("HOST = %d\n" % host + textwrap.dedent(_IPC_ATTACKS))
        found = harness(tmp_path, ALL, [{"code": code, "raw": True}])
        _all_on(found["report"])
        assert 0 not in found["runs"][0][0], found["runs"]
        # The IPC namespace alone (no seccomp): the host's segment does not exist there, and what the
        # program makes there is gone with it.
        alone = harness(tmp_path, ("ipc",), [{"code": code, "raw": True}])
        assert alone["runs"][0][0][:4] == [2, 0, 0, 0], alone["runs"]  # EINVAL: no such segment there
        assert _ipc_ids() == before
        # Control: without it the program reads the host's segment and leaves its own behind.
        control = harness(tmp_path, (), [{"code": code, "raw": True}])
        assert control["runs"][0][0][:4] == [0, 0, 0, 0], control["runs"]  # (mq_open: RLIMIT_MSGQUEUE 0 holds it)
        left = _ipc_ids()
        assert all(left[kind] - before[kind] for kind in left), (before, left)
    finally:
        _remove_ipc(before)
        libc.shmctl(host, 0, None)


# --------------------------------------------------------------------------- kernel calls the filter refuses

_KERNEL_ATTACKS = escaped("""
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    def _rwx():
        if libc.mmap(None, 4096, 7, 0x22, -1, 0) in (None, 2 ** 64 - 1):  # PROT_RWX, MAP_PRIVATE|MAP_ANONYMOUS
            raise B.OSError(ctypes.get_errno(), "mmap")
    attempt(_rwx)
    attempt(lambda: libc.memfd_create(b"x", 0))
    attempt(lambda: libc.syscall(302, 0, 0, None, None))  # prlimit64 (get) on itself
    attempt(lambda: libc.setpriority(0, 0, 5))
    attempt(lambda: os.sched_setaffinity(0, {0}))
    attempt(lambda: libc.syscall(160, 0, None))  # setrlimit
    attempt(lambda: libc.inotify_init())
    attempt(lambda: libc.mlockall(1))
    def _raw_fork():
        pid = libc.syscall(56, 17, 0, 0, 0, 0)  # clone(SIGCHLD): fork without the C library
        if pid == 0:
            os._exit(0)
        if pid < 0:
            raise B.OSError(ctypes.get_errno(), "clone")
        os.waitpid(pid, 0)
    attempt(_raw_fork)
    attempt(lambda: libc.unshare(0x20000000))  # CLONE_NEWPID
    attempt(lambda: libc.prctl(1, 9, 0, 0, 0))  # PR_SET_PDEATHSIG: prctl at all
    attempt(lambda: libc.fcntl(0, 1031, 1 << 20))  # F_SETPIPE_SZ
    attempt(lambda: libc.syscall(162))  # sync: waits for the host's dirty pages, and SIGKILL waits with it
    attempt(lambda: libc.syscall(306, 0))  # syncfs
""")


def test_the_filter_refuses_the_calls_the_first_attack_used(tmp_path):
    found = harness(tmp_path, ALL, [{"code": _KERNEL_ATTACKS, "raw": True}])
    _all_on(found["report"])
    assert found["runs"][0] == [[1] * 14], found["runs"]
    control = harness(tmp_path, (), [{"code": _KERNEL_ATTACKS, "raw": True}])
    assert isinstance(control["runs"][0], list), control["runs"]
    scores = control["runs"][0][0]
    assert all(score in (0, 2) for score in scores[:9]), scores  # each reached the kernel (EFAULT for a NULL)
    assert scores[12:] == [0, 0], scores


_X32_CALL = escaped("""
    libc.syscall(0x40000000 | 39)  # getpid through the x32 ABI, which the filter's table does not cover
""")


def test_a_system_call_of_another_abi_kills_the_program(tmp_path):
    found = harness(tmp_path, ALL, [{"code": _X32_CALL, "raw": True}])
    _all_on(found["report"])
    assert found["runs"][0] == "ExecutionRuntimeError: program's process crashed (SIGSYS)", found["runs"]
    # Control: without the filter the same call reaches the kernel (ENOSYS where x32 is off) and the program lives.
    control = harness(tmp_path, (), [{"code": _X32_CALL, "raw": True}])
    assert control["runs"][0] == [[0]], control["runs"]


# --------------------------------------------------------------------------- the caller's death

_CALLER = """
from arc25.sandbox import Sandbox
pool = Sandbox(n_workers=1)
pool.execute("def task(img):\\n    return img\\n", [[[1]]])
print(pool.worker_pids()[0], flush=True)
pool.execute("def task(img):\\n    while True:\\n        pass\\n", [[[1]]], timeout_s=100)
"""


def _descendants(pid: int) -> set[int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parents[int(entry)] = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pids) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                alive.add(pid)
        except OSError:
            pass
    return alive


def _kill_and_await(caller, family: set[int]) -> None:
    """SIGKILL the caller, then give its workers 10 s to die with it."""
    caller.kill()
    caller.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(family):
        time.sleep(0.05)
    assert not _alive(family)


@pytest.mark.parametrize("who", ["root", "nobody"])
def test_workers_die_with_their_caller(tmp_path, who):
    command = as_caller(who == "nobody")
    roots_before = set(Path(tempfile.gettempdir()).glob("arc25-sandbox-root-*"))
    caller = subprocess.Popen([*command, "-c", _CALLER], stdout=subprocess.PIPE, text=True, env=caller_env(), cwd="/")
    try:
        worker = int(caller.stdout.readline())
        deadline = time.monotonic() + 30
        family: set[int] = set()
        while time.monotonic() < deadline:
            family = _alive(_descendants(caller.pid))
            time.sleep(0.1)
            if len(family) >= 3 and _alive(family) == family:  # none of them a killed child on its way out
                break
        # Control: the probe does see the outer worker, its zygote and the looping program's process.
        assert worker in family and len(family) >= 3, family
        if who == "root":
            uid = int(Path(f"/proc/{worker}/status").read_text().split("Uid:")[1].split()[0])
            assert uid == (1 << 30) + worker
        _kill_and_await(caller, family)
        # Nothing left on the host: no worker makes a directory there.
        assert set(Path(tempfile.gettempdir()).glob("arc25-sandbox-root-*")) <= roots_before
    finally:
        caller.kill()
        caller.wait()


_STARTING_CALLER = """
import sys
from arc25.sandbox import Sandbox
pool = Sandbox(n_workers=2)
print("go", flush=True)
pool.execute("def task(img):\\n    return img\\n", [[[1]]])
"""


@pytest.mark.parametrize("delay", [0.0, 0.1, 0.3])
def test_a_caller_killed_while_its_workers_start_leaves_nothing_on_the_host(delay):
    tmp = Path(tempfile.gettempdir())
    started = time.time()
    before = set(tmp.glob("arc25-sandbox-root-*"))
    # Control: the probe sees a directory of that name made now.
    marker = Path(tempfile.mkdtemp(prefix="arc25-sandbox-root-"))
    assert marker in set(tmp.glob("arc25-sandbox-root-*")) - before
    marker.rmdir()
    caller = subprocess.Popen([sys.executable, "-c", _STARTING_CALLER], stdout=subprocess.PIPE, text=True,
                              env=caller_env(), cwd="/")
    try:
        assert caller.stdout.readline().strip() == "go"
        time.sleep(delay)
        _kill_and_await(caller, _descendants(caller.pid))
        left = {path for path in set(tmp.glob("arc25-sandbox-root-*")) - before if path.stat().st_mtime >= started - 1}
        assert not left
    finally:
        caller.kill()


# --------------------------------------------------------------------------- misattribution

_LONG = "def task(img):\n    s = 0\n    for i in range(4 * 10 ** 6):\n        s += i\n    return img * 0 + s % 10\n"


def test_an_escaped_program_cannot_kill_a_sibling_worker_so_nobody_is_blamed_for_it(tmp_path):
    with Sandbox(n_workers=1) as pool:
        pool.execute("def task(img):\n    return img\n", [[[1]]])
        sibling = pool.worker_pids()[0]
        expected = sum(range(4 * 10 ** 6)) % 10
        results = []
        thread = threading.Thread(target=lambda: results.append(pool.execute_batch([_LONG] * 6, [[[1]]], timeout_s=30)))
        thread.start()
        kill = escaped(f"""
            attempt(lambda: os.kill({sibling}, 9))
            attempt(lambda: os.kill(-1, 9))
            _r, _w = os.pipe()
            attempt(lambda: libc.fcntl(_r, 8, {sibling}))
            attempt(lambda: libc.fcntl(_r, 10, 9))
            attempt(lambda: libc.fcntl(_r, 4, 0o20000))
            os.write(_w, b"x")
        """)
        found = harness(tmp_path, ALL, [{"code": kill, "raw": True}])
        thread.join()
        _all_on(found["report"])
        assert 0 not in found["runs"][0][0], found["runs"]
        assert [r[0].tolist() for r in results[0]] == [[[expected]]] * 6
        assert pool.worker_pids() == [sibling]
        # Control: with no layer the same program does kill the sibling (the pool then replaces it).
        control = harness(tmp_path, (), [{"code": escaped(f"attempt(lambda: os.kill({sibling}, 9))\n"), "raw": True}])
        assert control["runs"][0] == [[0]]
        time.sleep(0.2)
        assert not _alive([sibling])
        assert pool.execute("def task(img):\n    return img\n", [[[1]]])[0].tolist() == [[1]]
        assert pool.worker_pids() != [sibling]


_FORGER = escaped("""
    # Answer for the next program too: a well-formed frame claiming the grid [[7]], written twice, and the same
    # into every descriptor this process might share with the zygote or the pool.
    _wire = M["arc25.sandbox.wire"]
    _forged = _wire.pack({"ok": True, "shapes": [[1, 1]], "id": 1}, bytes([7]))
    for _fd in range(3, 64):
        attempt(lambda: os.write(_fd, _forged + _forged))
    def task(img):
        return [[7]]
""")
_HONEST = "def task(img):\n    return [[3]]\n"


def test_a_program_cannot_answer_for_the_next_one(tmp_path):
    found = harness(tmp_path, ALL, [{"code": _FORGER, "raw": True}, {"code": _HONEST, "raw": False}])
    _all_on(found["report"])
    assert found["runs"][0] == [[7]] and found["runs"][1] == [[3]], found["runs"]
    # Control: when two programs share a process (fresh="chunk"), the forged frame is taken as the next one's answer.
    control = harness(tmp_path, ALL, [{"chunk": [{"code": _FORGER, "raw": True}, {"code": _HONEST, "raw": False}]}])
    assert control["runs"][1] == [[7]], control["runs"]


_LINGERERS = {
    # Answer, then keep the process busy: the zygote must not wait for it (the next program would be blamed).
    "answer_then_spin": "_frame = M['arc25.sandbox.wire'].pack({'ok': True, 'shapes': [[1, 1]]}, bytes([4]))\n"
                        "for _fd in range(3, 64):\n    attempt(lambda: os.write(_fd, _frame))\nwhile True:\n    pass\n",
    # Close every descriptor, so the zygote sees end of file, and keep running.
    "close_then_spin": "os.closerange(3, 64)\nwhile True:\n    pass\n",
}


@pytest.mark.parametrize("name", sorted(_LINGERERS))
def test_a_program_that_lingers_after_its_pipe_is_done_delays_nobody(tmp_path, name):
    start = time.monotonic()
    found = harness(tmp_path, ALL, [{"code": escaped(_LINGERERS[name]), "raw": True, "timeout": 20.0},
                                    {"code": _HONEST, "raw": False, "timeout": 20.0}])
    _all_on(found["report"])
    expected = [[4]] if name == "answer_then_spin" else "ExecutionRuntimeError"
    assert found["runs"][0] == expected or str(found["runs"][0]).startswith(str(expected)), found["runs"]
    assert found["runs"][1] == [[3]]
    assert time.monotonic() - start < 15  # neither waited for its 20 s limit


_FULL_FRAME_MESSAGE = escaped("""
    # An error reply whose message fills the largest frame the zygote takes from a program's process.
    _wire = M["arc25.sandbox.wire"]
    _reply = {"ok": False, "err": "ExecutionRuntimeError", "msg": ""}
    _reply["msg"] = "x" * (_wire.MAX_REPLY_BYTES - B.len(_wire.pack(_reply)))
    _frame = _wire.pack(_reply)
    for _fd in range(3, 32):
        attempt(lambda: _wire.write_all(_fd, _frame))
    os._exit(0)
""")


def test_a_program_cannot_make_the_zygote_relay_an_oversized_reply(tmp_path):
    """The zygote passed a program's error message on as sent: tagged with its job id, a message that filled the
    frame no longer fit in one, and the pool took the whole worker for broken (killed it, re-ran its queue). Now a
    header longer than any honest reply's is refused unread, and the worker goes on."""
    found = harness(tmp_path, ALL, [{"code": _FULL_FRAME_MESSAGE, "raw": True}, {"code": _HONEST, "raw": False}])
    _all_on(found["report"])
    assert found["runs"][0] == "ExecutionRuntimeError: program's process sent a malformed reply", found["runs"][0][:100]
    assert found["runs"][1] == [[3]]
    # Control: the frame the program sent fits; the same message under a job id, as the zygote sends it, does not.
    reply = {"ok": False, "err": "ExecutionRuntimeError", "msg": ""}
    reply["msg"] = "x" * (wire.MAX_REPLY_BYTES - len(wire.pack(reply)))
    assert len(wire.pack(reply)) == wire.MAX_REPLY_BYTES < len(wire.pack({**reply, "id": 0}))


def test_a_reply_header_longer_than_an_honest_one_is_refused_unparsed(monkeypatch):
    """A JSON bomb in a program's reply header cost the zygote ~0.6 s of parsing (outside every time limit) and
    ~20 MB it kept; a header over the honest maximum is refused before any parsing."""
    import arc25.sandbox.wire as wire_module

    n_grids = 3
    limit = wire.reply_header_limit(n_grids)
    honest = [wire.pack({"ok": True, "shapes": [[30, 30]] * n_grids, "processes": "on (" + "x" * 300 + ")"},
                        bytes(900 * n_grids)),
              wire.pack({"ok": False, "err": "ExecutionRuntimeError", "msg": "\u2603" * MAX_MESSAGE_CHARS})]
    for frame in honest:
        wire.unpack(frame, max_header=limit)
    bomb = wire.pack({"ok": False, "err": "ExecutionRuntimeError", "msg": "x", "pad": [[0]] * limit})

    def parse(*args, **kwargs):
        raise AssertionError("the header was parsed")

    monkeypatch.setattr(wire_module.json, "loads", parse)
    with pytest.raises(ValueError, match=f"over its {limit}"):
        wire.unpack(bomb, max_header=limit)


_ENDLESS = "def task(img):\n    while True:\n        pass\n"


def test_a_reply_is_not_held_back_while_the_next_program_runs():
    """The zygote holds replies back to send a few at once, and it held the first one after each send until the
    next reply: as long as the next program ran, up to its whole time limit. The pool allows one time limit (plus
    grace) between replies, so an honest program that took most of its limit, followed by an endless loop (no escape
    needed), made the pool kill the worker as hung and re-run its queue one program at a time."""
    from arc25.sandbox.pool import worker_command

    cmd_r, cmd_w = os.pipe()
    reply_r, reply_w = os.pipe()
    worker = subprocess.Popen(worker_command(cmd_r, reply_w, 512, ALL), pass_fds=(cmd_r, reply_w), cwd="/",
                              stdin=subprocess.DEVNULL)
    os.close(cmd_r)
    os.close(reply_w)
    try:
        assert wire.unpack(wire.read_frame(reply_r))[0].get("ready") is True
        chunk = {"fresh": "program", "timeout": 1.0, "sets": [[[1, 1]]],
                 "jobs": [[0, "def task(img):\n    return img\n", 0], [1, _ENDLESS, 0]]}
        start = time.monotonic()
        wire.write_all(cmd_w, wire.pack(chunk, np.array([[1]], dtype="<i8").tobytes()))
        first = wire.unpack(wire.read_frame(reply_r))[0]
        first_s = time.monotonic() - start
        second = wire.unpack(wire.read_frame(reply_r))[0]
        second_s = time.monotonic() - start
    finally:
        os.close(cmd_w)
        os.close(reply_r)
        worker.wait(10)
    assert first["id"] == 0 and first["ok"] is True
    assert first_s < 0.5, (first_s, second_s)
    # Control: the endless loop took its whole limit, which is how long a held reply waited for it.
    assert second["id"] == 1 and second["err"] == "ExecutionTimeout" and second_s >= 1.0, (second, second_s)


_SYNCER = escaped("""
    # Answer, then call sync() for ever. A SIGKILLed process dies only once its sync has written the host's dirty
    # pages out, and the zygote waits for the death of an answered child before it forks the next program but one.
    _frame = M["arc25.sandbox.wire"].pack({"ok": True, "shapes": [[1, 1]]}, bytes([4]))
    for _fd in range(3, 32):
        attempt(lambda: os.write(_fd, _frame))
    while True:
        libc.syscall(162)
""")


def _dirty(path: Path, megabytes: int = 1024) -> None:
    """Pages the disk has not seen yet, as a training job writing a checkpoint leaves them."""
    block = bytes(1 << 20)
    with open(path, "wb") as handle:
        for _ in range(megabytes):
            handle.write(block)


@pytest.mark.slow
def test_a_program_waiting_in_the_kernel_after_answering_delays_nobody(tmp_path):
    """The next programs ran late by as long as the host took to write its dirty pages: long enough, the pool blamed
    one of them for a timeout (or re-ran them all one by one)."""
    steps = [{"code": _SYNCER, "raw": True, "buried": True}] + [{"code": _HONEST, "raw": False, "buried": True}] * 2
    dirty = tmp_path / "dirty"
    try:
        _dirty(dirty)
        control = harness(tmp_path, [name for name in ALL if name != "seccomp"], steps)
        assert control["runs"] == [[[4]], [[3]], [[3]]], control["runs"]
        if max(control["times"][1:]) < 1.0:
            pytest.skip(f"this disk writes 1 GB in {max(control['times'][1:]):.2f} s: too fast to hold anyone up")
        _dirty(dirty)
        found = harness(tmp_path, ALL, steps)
    finally:
        dirty.unlink(missing_ok=True)
    _all_on(found["report"])
    assert found["runs"] == [[[4]], [[3]], [[3]]], found["runs"]
    assert max(found["times"][1:]) < 0.5, (found["times"], control["times"])


# --------------------------------------------------------------------------- the Python layer (a filter)

_LEAKS = {
    # deepcopy with a caller's memo kept the originals it copied alive there: the real instance __dict__.
    "deepcopy_memo": ("import copy\nclass B:\n    def __init__(self):\n        self.v = 1\n"
                      "def task(img):\n    b = B()\n    m = {}\n    copy.deepcopy(b, m)\n"
                      "    for kept in m.values():\n        if isinstance(kept, list):\n            for o in kept:\n"
                      "                if isinstance(o, dict) and 'v' in o:\n                    o['w'] = 5\n"
                      "    return [[b.w]]\n", [[5]]),
    # A dunder key made at run time, for a dict that might be an object's __dict__.
    "dunder_key": ("def task(img):\n    d = {}\n    d['_' * 2 + 'array_interface' + '_' * 2] = 1\n    return [[len(d)]]\n",
                   [[1]]),
    # hash of an object is its address.
    "hash_address": ("def task(img):\n    return [[hash(task) % 10 * 0 + 1]]\n", [[1]]),
    # a parameter named np is an array, and ndarray.resize(refcheck=False) frees memory views still use.
    "np_parameter": ("def task(np):\n    np.resize((9,), refcheck=False)\n    return [[len(np)]]\n", [[9]]),
    # a nested def named self rebinds it, so the attribute store lands on a function.
    "nested_self": ("class E:\n    def m(self):\n        def self():\n            pass\n        self.x = 1\n        return self\n"
                    "def task(img):\n    return [[E().m().x]]\n", [[1]]),
    # so does a nonlocal in a nested function (however deep), or a walrus in a nested function's default.
    "nonlocal_self": ("class E:\n    def m(self):\n        def f():\n            def h():\n                nonlocal self\n"
                      "                def self():\n                    pass\n            h()\n        f()\n"
                      "        self.x = 1\n        return self\n"
                      "def task(img):\n    return [[E().m().x]]\n", [[1]]),
    "walrus_self": ("class E:\n    def m(self):\n        def g():\n            pass\n"
                    "        def f(a=(self := g)):\n            pass\n        self.x = 1\n        return self\n"
                    "def task(img):\n    return [[E().m().x]]\n", [[1]]),
}


@pytest.mark.parametrize("name", sorted(_LEAKS))
def test_python_level_leak_paths_are_closed(name):
    code, unsandboxed = _LEAKS[name]
    with pytest.raises(ExecutionError) as info:
        execute(code, [np.zeros((3, 3), dtype=np.int64)])
    assert isinstance(info.value, (ForbiddenCode, ExecutionRuntimeError))
    # Control: in-process (real builtins, real copy, no check) the same code does what it set out to.
    assert execute_trusted(code, [np.zeros((3, 3), dtype=np.int64)])[0].tolist() == unsandboxed


_HOSTILE_TEXT = "chr(0xD800) + chr(27) + '[2J' + chr(0x202E) + 'tail'"  # a lone surrogate, a terminal escape, a bidi override


def test_a_program_error_message_reaches_the_caller_as_printable_text():
    """A program picks its exception's message. A lone surrogate in it (no encoder takes one) crashed a caller that
    printed the error or wrote it to a file; ESC sequences and bidi overrides rewrote its terminal and logs."""
    code = f"def task(img):\n    raise ValueError({_HOSTILE_TEXT})\n"
    [error] = execute_batch([code], [[[1]]])
    assert isinstance(error, ExecutionRuntimeError), error
    message = str(error)
    message.encode("utf-8")
    assert message.isprintable() and message.endswith("tail"), repr(message)
    # Control: the text the program made is neither printable nor writable as UTF-8.
    text = chr(0xD800) + chr(27) + "[2J" + chr(0x202E) + "tail"
    assert not text.isprintable()
    with pytest.raises(UnicodeEncodeError):
        text.encode("utf-8")


def _deeply_nested_program(depth: int = 20, statements: int = 1130) -> str:
    """Classes nested ``depth`` deep, each with a method, the innermost full of attribute stores on ``self``."""
    lines = []
    for level in range(depth):
        lines += [" " * 2 * level + f"class C{level}:", " " * (2 * level + 1) + "def m(self):"]
    lines += [" " * 2 * depth + "self.x=" + "+".join("a" * 20)] * statements
    return "\n".join(lines) + "\ndef task(img):\n    return img\n"


def test_a_long_programs_check_and_compile_count_against_its_own_time_limit():
    """The zygote checked and compiled each program outside every limit (~0.9 s for a valid 72k-character one); at
    small time limits the pool then took the worker for hung and killed it. Now a program's own process checks and
    compiles it, from its fork on, within its time limit: the program gets the timeout, the worker goes on."""
    from arc25.sandbox.policy import compile_untrusted

    code = _deeply_nested_program()
    assert len(code) <= 100_000
    # Control: checking and compiling it takes longer than the small limit below, and the program itself is quick.
    start = time.process_time()
    compile_untrusted(code)
    assert time.process_time() - start > 0.2
    assert execute_trusted(code, [[[1]]])[0].tolist() == [[1]]
    with Sandbox(n_workers=1) as pool:
        pool.execute("def task(img):\n    return img\n", [[[1]]])
        worker = pool.worker_pids()
        with pytest.raises(ExecutionTimeout):
            pool.execute(code, [[[1]]], timeout_s=0.1)
        assert pool.execute(code, [[[1]]], timeout_s=20.0)[0].tolist() == [[1]]
        assert pool.worker_pids() == worker  # never killed


def test_non_ascii_identifiers_work_in_the_sandbox():
    code = "café = 3\ndef task(img):\n    naïve = img * 0 + café\n    return naïve\n"
    assert execute(code, [[[1]]])[0].tolist() == [[3]]
    assert execute_trusted(code, [[[1]]])[0].tolist() == [[3]]


# --------------------------------------------------------------------------- fresh="chunk"


def test_chunk_mode_charges_a_program_its_own_garbage_and_reports_itself():
    """In a shared process a generator's finally, found by the collector, used to burn the next program's time."""
    burner = ("def g():\n    try:\n        yield 1\n    finally:\n        while True:\n            pass\n"
              "def task(img):\n    it = g()\n    next(it)\n    loop = [it]\n    loop.append(loop)\n    return img\n")
    ok = "def task(img):\n    return img + 1\n"
    with Sandbox(n_workers=1, fresh="chunk") as pool:
        results = pool.execute_batch([ok, burner, ok, ok] * 8, [[[1]]], timeout_s=0.5)  # chunks of several programs
        assert pool.isolation().layers["fresh"].startswith("off: programs on the same inputs share a process")
    assert [type(r).__name__ for r in results] == ["list", "ExecutionTimeout", "list", "list"] * 8
    assert all(r[0].tolist() == [[2]] for r in results if isinstance(r, list))
    with Sandbox(n_workers=1) as pool:
        assert pool.isolation().layers["fresh"].startswith("on (a new process")
    with pytest.raises(ValueError, match="fresh must be one of program, chunk"):
        Sandbox(fresh="never")


def test_chunk_mode_answers_as_it_goes_so_a_long_chunk_is_not_taken_for_a_hang():
    """A chunk's process runs many programs; the parent, which allows one time limit (plus grace) between replies,
    must hear each answer when it is ready, not at the end of the chunk."""
    slow = "def task(img):\n    s = 0\n    for i in range(4 * 10 ** 5):\n        s += i\n    return img * 0 + s % 10\n"
    with Sandbox(n_workers=1, fresh="chunk") as pool:
        pool.execute("def task(img):\n    return img\n", [[[1]]])
        pid = pool.worker_pids()[0]
        results = pool.execute_batch([slow] * 64, [[[1]]], timeout_s=1.0)  # chunks of 16: longer than 1 s + grace
        assert pool.worker_pids() == [pid]  # never killed as hung
    assert all(isinstance(r, list) for r in results), [r for r in results if not isinstance(r, list)][:3]


# --------------------------------------------------------------------------- what a program's process holds

# Reads every readable page near the process's objects, its heap and its mappings (no /proc: a page is readable when
# the kernel can copy it into a pipe) and counts where ``first`` is followed by ``second``. The probe keeps the two
# halves of each marker apart, so that it never finds itself.
_SCAN = """
_np, _gc = M["numpy"], M["gc"]
libc.write.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
libc.write.restype = ctypes.c_ssize_t
libc.sbrk.argtypes = [ctypes.c_ssize_t]
libc.sbrk.restype = ctypes.c_void_p
_r, _w = os.pipe()
_PAGE, _SPAN, _CARRY = 4096, 32 << 20, 256

def _scan(markers):
    counts = [0] * len(markers)
    anchors = {B.id(o) for o in _gc.get_objects()} | {libc.sbrk(0) or 0, B.id(B), B.id(_np.zeros(1 << 18))}
    anchors |= {ctypes.addressof(ctypes.create_string_buffer(n)) for n in (64, 1 << 20)}
    spans = B.sorted({a // _SPAN + d for a in anchors if a for d in (-1, 0, 1)})
    for span in spans:
        carry, address, end = b"", span * _SPAN, (span + 1) * _SPAN
        while address < end:
            step = 16 * _PAGE
            got = libc.write(_w, address, step)
            if got != step:
                if got > 0:
                    os.read(_r, got)
                step = _PAGE
                got = libc.write(_w, address, step)
            if got != step:
                if got > 0:
                    os.read(_r, got)
                carry = b""
                address += step
                continue
            page = b""
            while B.len(page) < step:
                page += os.read(_r, step - B.len(page))
            buffer = carry + page
            for index, (first, second) in B.enumerate(markers):
                size = B.len(first) + B.len(second)
                at = buffer.find(first, B.max(0, B.len(carry) - size + 1))
                while at >= 0:
                    if buffer[at + B.len(first) : at + size] == second:
                        counts[index] += 1
                    at = buffer.find(first, at + 1)
            carry = buffer[-_CARRY:]
            address += step
    return [B.min(c, 9) for c in counts]

def _int64(*values):
    return _np.array(values, dtype="<i8").tobytes()

def _uint8(*values):
    return _np.array(values, dtype=_np.uint8).tobytes()

_FOUND = _scan([
    (b"ZQXJ", b"_PREVIOUS_SOURCE"),                          # the source of the program before (another job)
    (b"ZQXJ", b"_NEXT_SOURCE"),                              # the source of the program after
    (_int64(7, 3, 9, 1), _int64(8, 2, 6, 4)),                # the previous program's input
    (_uint8(3, 1, 4, 1, 5, 9, 2, 6), _uint8(5, 3, 5, 8, 9, 7, 9, 3)),  # the previous program's output
    (b"ZQXJ", b"_OWN_SOURCE"),                               # control: this program's own source
    (_int64(6, 0, 2, 8), _int64(4, 4, 1, 7)),                # control: this program's own input
    (b"ZQXJ", b"_PREVIOUS_ERROR"),                           # an earlier program's error message
])
# ZQXJ_OWN_SOURCE

def task(img):
    return [_FOUND]
"""
_PREVIOUS = ("# ZQXJ_PREVIOUS_SOURCE\ndef task(img):\n"
             "    return [[3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3]] if img[0][0] == 7 else img\n")
_NEXT = "# ZQXJ_NEXT_SOURCE\ndef task(img):\n    return img\n"
_FAILING = "def task(img):\n    raise ValueError('ZQXJ' + '_PREVIOUS_' + 'ERROR')\n"


def test_an_escaped_program_finds_no_other_jobs_source_input_or_output_in_its_memory(tmp_path):
    """A program's process was a copy of the zygote, which held the chunk's sources and inputs, earlier programs'
    compiled code and replies not yet sent: a program read the next job's source and returned the previous one's
    output. Now it is forked from a template that never held a job, and gets only its own job over its own pipe."""
    previous = {"code": _PREVIOUS, "raw": False, "grid": [[7, 3, 9, 1, 8, 2, 6, 4]]}
    probe = {"code": escaped(_SCAN), "raw": True, "grid": [[6, 0, 2, 8, 4, 4, 1, 7]], "timeout": 30.0}
    found = harness(tmp_path, ALL, [previous, {"code": _FAILING, "raw": False}, probe, {"code": _NEXT, "raw": False}],
                    timeout=240)
    _all_on(found["report"])
    assert found["runs"][0] == [[3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3]], found["runs"][0]
    assert "ZQXJ_PREVIOUS_ERROR" in found["runs"][1], found["runs"][1]
    assert isinstance(found["runs"][2], list), found["runs"][2]
    prev_source, next_source, prev_input, prev_output, own_source, own_input, prev_error = found["runs"][2][0]
    # Control: the probe finds a job's source and input where they are, in the process of that job.
    assert own_source > 0 and own_input > 0, found["runs"][2]
    assert (prev_source, next_source, prev_input, prev_output, prev_error) == (0, 0, 0, 0, 0), found["runs"][2]
    # Control: programs that share a process by design (fresh="chunk") find each other's sources.
    chunk = harness(tmp_path, ALL, [{"chunk": [{"code": escaped(_SCAN), "raw": True}, {"code": _NEXT, "raw": False}],
                                     "timeout": 30.0}], timeout=240)
    assert chunk["runs"][0][0][1] > 0, chunk["runs"]


_OPEN_FILES = escaped("""
    # Which descriptors this process holds, and whether it may change the status flags of each (O_NONBLOCK): flags
    # belong to the open file, so a file another process holds too carries them from one program to a later one.
    _held = [fd for fd in B.range(64) if libc.fcntl(fd, 3, 0) >= 0]  # F_GETFL
    for _fd in _held:
        attempt(lambda: libc.fcntl(_fd, 4, libc.fcntl(_fd, 3, 0) | os.O_NONBLOCK))  # F_SETFL
        attempt(lambda: libc.ioctl(_fd, 0x5421, ctypes.byref(ctypes.c_int(1))))  # FIONBIO
    SCORES.insert(0, B.len(_held))
""")


def test_a_program_holds_no_shared_open_file_and_may_not_change_its_own_files_flags(tmp_path):
    """Descriptors 0-2 were the host's /dev/null, one open file shared by the zygote and every program's process,
    and F_SETFL was allowed: its flags were a channel from one call's program to a later call's. Now a program's
    process holds one descriptor (its reply pipe), and the filter refuses status-flag changes on any."""
    found = harness(tmp_path, ALL, [{"code": _OPEN_FILES, "raw": True}, {"code": _OPEN_FILES, "raw": True}])
    _all_on(found["report"])
    assert found["runs"][0] == found["runs"][1] == [[1, 1, 1]], found["runs"]  # one descriptor, both changes refused
    # Control: without the filter the same calls change the flags of the one descriptor held.
    control = harness(tmp_path, (), [{"code": _OPEN_FILES, "raw": True}])
    assert control["runs"][0] == [[1, 0, 0]], control["runs"]


# Measures how much more address space this process may map (1 MB steps), as four decimal digits.
_ROOM = escaped("""
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.mmap.restype = ctypes.c_void_p
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    _grown = [B.bytearray(_GROW << 20)] if _GROW else []
    def _fits(mb):
        address = libc.mmap(None, mb << 20, 0, 0x22 | 0x4000, -1, 0)  # PROT_NONE, MAP_PRIVATE|ANONYMOUS|NORESERVE
        if address in (None, ctypes.c_void_p(-1).value):
            return False
        libc.munmap(address, mb << 20)
        return True
    _low, _high = 0, 8192
    while _high - _low > 1:
        _mid = (_low + _high) // 2
        _low, _high = (_mid, _high) if _fits(_mid) else (_low, _mid)
    def task(img):
        return [[B.int(d) for d in B.str(_low).zfill(4)]]
""")


def _room(run) -> int:
    return int("".join(map(str, run[0])))


def _long_program(tag: int) -> str:
    """A valid program of ~23k characters whose compiled code is large (many distinct small constants)."""
    values = ",".join(str(tag * 10_000 + i) for i in range(3_800))
    return f"X = [{values}]\ndef task(img):\n    return img\n"


def test_a_programs_memory_room_does_not_move_with_history(tmp_path):
    """The limit was the zygote's start-up size plus the allowance, and the zygote's compile cache grew: forty long
    distinct programs took ~10 MB from every later program. Now each program's process is a copy of a template that
    never grows, and compiles only its own program."""
    steps = [{"code": _ROOM.replace("_GROW", "0"), "raw": True}]
    steps += [{"code": _long_program(tag), "raw": False} for tag in range(40)]
    steps += [{"code": _ROOM.replace("_GROW", "0"), "raw": True}]
    steps += [{"code": _ROOM.replace("_GROW", "64"), "raw": True}]  # control: the probe sees a process's growth
    found = harness(tmp_path, ALL, steps, timeout=240)
    _all_on(found["report"])
    assert all(run == [[0, 0, 0]] * 3 for run in found["runs"][1:41]), found["runs"][1]
    before, after, grown = _room(found["runs"][0]), _room(found["runs"][41]), _room(found["runs"][42])
    assert abs(after - before) <= 1, (before, after)
    assert 60 <= before - grown <= 70, (before, grown)


def test_an_innocent_program_near_its_memory_allowance_passes_after_many_long_programs():
    """Forty long distinct programs took ~10 MB from every later program (the zygote's compile cache), and an
    innocent program that passed before them failed out of memory after them."""

    def hog(megabytes: int) -> str:
        return f"def task(img):\n    block = bytearray({megabytes} << 20)\n    return img\n"

    def passes(pool, megabytes: int) -> bool:
        return isinstance(pool.execute_batch([hog(megabytes)], [[[1]]], timeout_s=10.0)[0], list)

    with Sandbox(n_workers=1, memory_limit_mb=256) as pool:
        low, high = 0, 256  # the most a program of this worker may take, in 1 MB steps
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if passes(pool, middle) else (low, middle)
        assert low > 128, low
        results = pool.execute_batch([_long_program(tag) for tag in range(40)], [[[1]]], timeout_s=20.0)
        assert all(isinstance(result, list) for result in results), results[:2]
        assert passes(pool, low - 1)
        assert not passes(pool, low + 2)  # control: the probe sits at the edge of the allowance


# --------------------------------------------------------------------------- arrays of Python objects

# numpy's in-place sort of an object array calls the program's comparison while it holds raw pointers to the
# elements; a comparison that empties the array leaves them dangling (a use-after-free from which a program reached
# the worker's real builtins). No dunder name, no dunder string, no forbidden attribute: it passed the static check.
_EMPTYING_SORT = """
from functools import cmp_to_key
import numpy as np

class Item:
    def __init__(self, value):
        self.value = value

    def __add__(self, other):
        return self

    def __lt__(self, other):
        HOLDER[0][:] = 0  # empties the array being sorted
        return self.value < other.value

HOLDER = []

def compare(a, b):
    HOLDER[0][:] = 0
    return 0

def task(img):
    key = cmp_to_key(compare)
    MAKE
    HOLDER.append(arr)
    SORT
    return img
"""
_OBJECT_ARRAYS = {
    "array_of_keys": "arr = np.array([key(i) for i in range(64)])",
    "array_dtype_keyword": "arr = np.array([key(i) for i in range(64)], dtype=np.dtype('O'))",
    "empty_then_fill": "arr = np.empty(64, np.dtype('O'))\n    arr[:] = [key(i) for i in range(64)]",
    "full_of_items": "arr = np.full(64, Item(1), dtype=np.dtype('O'))",
    "astype": "arr = np.zeros(64, dtype=int).astype(np.dtype('O'))\n    arr[:] = [key(i) for i in range(64)]",
    "list_plus_array": "arr = [Item(i) for i in range(64)] + np.zeros(64, dtype=int)",
    "fromfunction": "arr = np.fromfunction(lambda i: i, (64,), dtype=np.dtype('O'))",
    "vectorize": "arr = np.vectorize(lambda i: key(i))(np.arange(64))",
}
_SORTS = {"method": "arr.sort()", "function": "arr = np.sort(arr)", "partition": "arr.partition(3)",
          "argsort": "arr.argsort()"}


@pytest.mark.parametrize("make", sorted(_OBJECT_ARRAYS))
def test_a_program_cannot_make_or_sort_an_array_of_python_objects(make):
    sources = [_EMPTYING_SORT.replace("MAKE", _OBJECT_ARRAYS[make]).replace("SORT", sort) for sort in _SORTS.values()]
    results = execute_batch(sources, [[[1]]], timeout_s=5.0)
    for source, result in zip(sources, results):
        assert isinstance(result, ExecutionError), source
        assert "not available here" in str(result), (source, result)
    # Control: plain numpy (no runtime guards, a harmless comparison) makes the array and calls the program's
    # comparison from inside the sort.
    calls = []
    namespace = {"np": np, "key": functools.cmp_to_key(lambda a, b: calls.append(1) or 0), "Item": type(
        "Item", (), {"__init__": lambda self, v: setattr(self, "value", v), "__add__": lambda self, other: self,
                     "__lt__": lambda self, other: calls.append(1) or self.value < other.value})}
    exec(_OBJECT_ARRAYS[make].replace("\n    ", "\n") + "\narr.sort()\n", namespace)  # noqa: S102 - our own code
    assert namespace["arr"].dtype == object, make
    assert calls or make == "fromfunction", make  # that one holds ints: the program's own function made them


def test_non_numeric_arrays_are_refused_where_made_and_on_output():
    refused = {
        "strings": "def task(img):\n    return np.array(['1'])\n",
        "astype_str": "def task(img):\n    return np.array(img).astype('U1')\n",
        "bytes": "def task(img):\n    a = np.zeros((2, 2), dtype='S1')\n    return img\n",
        "datetime": "def task(img):\n    a = np.array(img, dtype='datetime64[D]')\n    return img\n",
        "structured": "def task(img):\n    a = np.zeros(2, dtype=[('x', 'i8')])\n    return img\n",
        "void_view": "def task(img):\n    a = np.array(img).view('V8')\n    return img\n",
        "output_of_objects": "from collections import deque\ndef task(img):\n    return [[deque()]]\n",
        # An operator can still make an array of objects; the DSL does not take it.
        "dsl_given_objects": ("class Item:\n    def __add__(self, other):\n        return self\n"
                              "def task(img):\n    grid = [[Item()]] + np.zeros((1, 1), dtype=int)\n"
                              "    draw_rectangle(grid, (0, 0), (0, 0), 1)\n    return img\n"),
    }
    results = execute_batch(list(refused.values()), [[[1]]])
    assert all(isinstance(r, ExecutionError) for r in results), dict(zip(refused, results))
    assert "not available here" in str(results[-1]), results[-1]
    # Control: the numeric versions of the same calls work.
    fine = ["def task(img):\n    return np.array([[1]])\n", "def task(img):\n    return np.array(img).astype('i8')\n",
            "def task(img):\n    return np.array(img).view('i8') + np.zeros((1, 1), dtype='u1')\n",
            "def task(img):\n    a = sorted([3, 1])\n    b = [2, 1]\n    b.sort()\n    return np.sort(np.array(img) * a[0] * b[0]).clip(0, 9)\n"]
    assert [r[0].tolist() for r in execute_batch(fine, [[[1]]])] == [[[1]]] * 4


# Counts the compiled code of programs (code objects named after the sandbox's program file) that this process can
# reach from the garbage collector's objects; _COMPILE compiles one more program in this process first (the control).
_CODE_COUNT = escaped("""
    _gc, _types = M["gc"], M["types"]
    _policy = M["arc25.sandbox.policy"]
    _mine = [_policy.compile_untrusted("def task(img):\\n    return img\\n")] if _COMPILE else []
    _seen = set()
    for _o in _gc.get_objects():
        for _r in _gc.get_referents(_o):
            if B.type(_r) is _types.CodeType and _r.co_filename == _policy.PROGRAM_FILENAME:
                _seen.add(B.id(_r))
    _count = B.len(_seen)
    def task(img):
        return [[B.int(d) for d in B.str(_count).zfill(3)]]
""")


def test_an_escaped_program_finds_no_earlier_programs_compiled_code():
    """The zygote kept up to 512 earlier programs' compiled code, and a program ran an earlier call's cached solution
    on its own input. Now no process a program's process is forked from ever compiled a job."""
    earlier = [f"def task(img):\n    return img * 0 + {tag}\n" for tag in range(9)]
    with tempfile.TemporaryDirectory() as tmp:
        steps = [{"code": _CODE_COUNT.replace("_COMPILE", "False"), "raw": True}]
        steps += [{"code": code, "raw": False} for code in earlier]
        steps += [{"code": _CODE_COUNT.replace("_COMPILE", "False"), "raw": True},
                  {"code": _CODE_COUNT.replace("_COMPILE", "True"), "raw": True}]
        found = harness(Path(tmp), ALL, steps)
    _all_on(found["report"])
    count = [int("".join(map(str, found["runs"][i][0]))) for i in (0, -2, -1)]
    assert count[1] == count[0], count  # nothing of the nine programs in between
    assert count[2] > count[0], count  # control: the probe sees compiled programs in its process


def test_a_worker_whose_template_is_gone_is_replaced():
    """Only the template forks programs' processes: without it a worker could start none, so it goes and the pool
    starts another (the program it was on is blamed on the worker, never answered wrongly)."""
    with Sandbox(n_workers=1) as pool:
        pool.execute("def task(img):\n    return img\n", [[[1]]])
        outer = pool.worker_pids()[0]
        zygote = int(Path(f"/proc/{outer}/task/{outer}/children").read_text().split()[0])
        template = min(int(pid) for pid in Path(f"/proc/{zygote}/task/{zygote}/children").read_text().split())
        # Control: the template is the process that forks programs (its children's parent is the zygote).
        assert Path(f"/proc/{template}/stat").read_text().rsplit(")", 1)[1].split()[1] == str(zygote)
        os.kill(template, 9)
        results = pool.execute_batch(["def task(img):\n    return img + 1\n"] * 3, [[[1]]])
        assert all(isinstance(r, list) and r[0].tolist() == [[2]] or isinstance(r, ExecutionRuntimeError)
                   for r in results), results
        assert pool.execute("def task(img):\n    return img + 2\n", [[[1]]])[0].tolist() == [[3]]
        assert pool.worker_pids() != [outer]
