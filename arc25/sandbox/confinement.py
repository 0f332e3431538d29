"""Operating-system isolation of a sandbox worker, layer by layer, and the report of what is active.

``confine`` runs in the worker after its trusted start-up (imports, warm-up) and before it reads a
single program. Each layer is set up where the kernel allows it and reported where it does not;
a layer that fails never stops the worker, it is just named in the report (``Isolation``).

Layers, in the order they are set up:

* network: a new network namespace, so the only interface is a loopback that is down;
* filesystem: a new mount namespace whose root is an empty read-only tmpfs (``chroot``), or,
  without a mount namespace but as root, a chroot into an empty root-owned directory;
* user: as root, drop to ``nobody`` (65534) with no groups and no capabilities; otherwise run in a
  user namespace that maps only the caller's uid and drop the capabilities it granted;
* processes: RLIMIT_NPROC 0 for that unprivileged uid, checked by trying to fork;
* seccomp: a BPF filter that refuses (EPERM) the system calls a grid program never needs:
  sockets, fork/clone/exec, signals to other processes, open, namespaces, mounts, credential
  changes, ptrace, keyrings, bpf, io_uring and the like;
* limits: address space, no core dumps, no file growth, few descriptors and no new privileges
  (always). No parent-death signal: Linux sends it when the *thread* that started the worker
  exits, which would kill the pools of callers that run batches from short-lived threads; an
  orphaned worker still ends, at EOF on its command pipe or at its CPU limit.
"""

from __future__ import annotations

import ctypes
import dataclasses
import os
import platform
import sys

try:
    import resource
except ImportError:  # not POSIX: the trusted path still imports this package; workers cannot start there
    resource = None

# The layers a caller may switch off (to measure them); the resource limits are always on.
OS_LAYERS = ("network", "filesystem", "user", "processes", "seccomp")
LAYERS = (*OS_LAYERS, "limits")
NOBODY = 65534

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REC, _MS_PRIVATE = 0x4000, 1 << 18
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP = 38, 22
_SECCOMP_MODE_FILTER = 2
_MAX_OPEN_FILES = 32

# x86-64 numbers of the system calls the filter refuses. A worker needs none of them once it is
# set up: it reads and writes two pipes, maps memory, sets its CPU limit and alarm, and exits.
_DENIED_X86_64 = {
    "sockets": (41, 42, 43, 49, 50, 53, 288),  # socket connect accept bind listen socketpair accept4
    "processes": (56, 57, 58, 59, 322, 435),  # clone fork vfork execve execveat clone3
    "signals": (62, 200, 234, 129, 297, 424, 434, 438),  # kill tkill tgkill rt_(tg)sigqueueinfo pidfd_*
    "other processes": (101, 310, 311, 312),  # ptrace process_vm_readv/writev kcmp
    "files": (2, 85, 257, 437, 303, 304, 133, 259),  # open creat openat openat2 *_handle_at mknod(at)
    "namespaces and mounts": (272, 308, 165, 166, 155, 161, 428, 429, 430, 431, 432, 433, 442),
    "credentials": (105, 106, 113, 114, 116, 117, 119, 122, 123, 126, 157),  # set*id setgroups capset prctl
    "kernel": (250, 248, 249, 321, 298, 323, 425, 426, 427, 135, 163, 167, 168, 169, 170, 171, 172, 173,
               175, 176, 179, 246, 313, 320, 103),  # keyrings bpf perf userfaultfd io_uring personality admin
}
_SECCOMP_ARCHES = {"x86_64": (0xC000003E, _DENIED_X86_64)}


@dataclasses.dataclass(frozen=True)
class Isolation:
    """Which isolation layers a sandbox worker runs under: layer name -> "on (how)" or "off: why"."""

    layers: dict

    @property
    def active(self) -> tuple[str, ...]:
        return tuple(name for name, state in self.layers.items() if state.startswith("on"))

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(name for name in self.layers if name not in self.active)

    def summary(self) -> str:
        """One line: the active layers, and each missing one with its reason."""
        off = "; ".join(f"{name} off: {self.layers[name].removeprefix('off: ')}" for name in self.missing)
        return f"sandbox isolation: {', '.join(self.active) or 'no OS layer'} on" + (f"; {off}" if off else "")

    def __str__(self) -> str:
        return "\n".join(f"{name:>10}: {state}" for name, state in self.layers.items())


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if not isinstance(exc, OSError) else (exc.strerror or str(exc))


def _vm_bytes() -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def _enter_namespaces(libc, flags: int, is_root: bool) -> bool:
    """Unshare ``flags`` (adding a user namespace when not root, or when root lacks the right); True if in one."""
    attempts = ([flags] if is_root else []) + [flags | _CLONE_NEWUSER]
    error: OSError | None = None
    for attempt in attempts:
        uid, gid = os.getuid(), os.getgid()
        try:
            _check(libc.unshare(attempt))
        except OSError as exc:
            error = exc
            continue
        if attempt & _CLONE_NEWUSER:
            _write("/proc/self/setgroups", "deny")
            _write("/proc/self/uid_map", f"0 {uid} 1")
            _write("/proc/self/gid_map", f"0 {gid} 1")
        return bool(attempt & _CLONE_NEWUSER)
    raise error


def _seccomp_program(arch: int, numbers: list[int]) -> bytes:
    """Classic BPF: kill on a foreign architecture (or the x32 ABI), EPERM for ``numbers``, allow the rest."""
    ld_abs, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    allow, kill, eperm = 0x7FFF0000, 0x80000000, 0x00050000 | 1
    n = len(numbers)
    code = [(ld_abs, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, kill), (ld_abs, 0, 0, 0), (jge, n + 1, 0, 0x40000000)]
    code += [(jeq, n - i, 0, number) for i, number in enumerate(numbers)]
    code += [(ret, 0, 0, allow), (ret, 0, 0, eperm)]
    return b"".join(int.to_bytes(op, 2, "little") + bytes((jt, jf)) + int.to_bytes(k, 4, "little") for op, jt, jf, k in code)


def _install_seccomp(libc) -> str:
    machine = platform.machine()
    if machine not in _SECCOMP_ARCHES:
        raise OSError(f"no system call table for {machine}")
    arch, groups = _SECCOMP_ARCHES[machine]
    numbers = sorted({number for group in groups.values() for number in group})
    program = ctypes.create_string_buffer(_seccomp_program(arch, numbers))

    class _Fprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = _Fprog(len(program.raw) // 8, ctypes.addressof(program))
    _check(libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0))
    return f"on ({len(numbers)} system calls refused: {', '.join(groups)})"


def _drop_capabilities(libc) -> None:
    class _Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class _Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    header, data = _Header(0x20080522, 0), (_Data * 2)()
    _check(libc.capset(ctypes.byref(header), data))


def _fork_refused() -> bool:
    try:
        pid = os.fork()
    except OSError:
        return True
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return False


def _set_limits(memory_limit_mb: int, vm: int | None) -> str:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (_MAX_OPEN_FILES, _MAX_OPEN_FILES))
    detail = "no core dumps, no file growth, CPU seconds per program"
    if memory_limit_mb > 0 and vm is not None:
        limit = vm + memory_limit_mb * (1 << 20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        detail = f"address space +{memory_limit_mb} MB, " + detail
    return f"on ({detail})"


def confine(root_dir: str, memory_limit_mb: int, wanted=OS_LAYERS) -> dict[str, str]:
    """Put the calling (single-threaded, set-up) worker under every ``wanted`` layer it can get; returns the report."""
    report = {name: "off: not asked for" for name in OS_LAYERS}
    vm = _vm_bytes()
    if not sys.platform.startswith("linux"):
        for name in wanted:
            report[name] = f"off: needs Linux (this is {sys.platform})"
        try:
            report["limits"] = _set_limits(memory_limit_mb, vm)
        except (OSError, ValueError) as exc:
            report["limits"] = f"off: {_reason(exc)}"
        return report
    libc = _libc()
    is_root = os.geteuid() == 0
    uid = os.getuid()
    flags = (_CLONE_NEWNET if "network" in wanted else 0) | (_CLONE_NEWNS if "filesystem" in wanted else 0)
    in_userns, mount_ns = False, False
    if flags:
        try:
            in_userns = _enter_namespaces(libc, flags, is_root)
            mount_ns = bool(flags & _CLONE_NEWNS)
            if "network" in wanted:
                report["network"] = "on (own network namespace: loopback only, down)"
        except OSError as exc:
            if "network" in wanted:
                report["network"] = f"off: cannot create a network namespace ({_reason(exc)})"
    if "filesystem" in wanted:
        try:
            if mount_ns:
                _check(libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None))
                ro = _MS_RDONLY | _MS_NOSUID | _MS_NODEV | _MS_NOEXEC
                _check(libc.mount(b"arc25-sandbox", root_dir.encode(), b"tmpfs", ro, b"size=4k,mode=0555"))
                how = "root is an empty read-only tmpfs in its own mount namespace"
            elif is_root:
                how = "chroot to an empty root-owned directory (no mount namespace)"
            else:
                raise OSError("needs root or a user namespace")
            os.chroot(root_dir)
            os.chdir("/")
            report["filesystem"] = f"on ({how})"
        except OSError as exc:
            report["filesystem"] = f"off: cannot change root ({_reason(exc)})"
    if "user" in wanted:
        try:
            if in_userns:
                _drop_capabilities(libc)
                if uid == 0:
                    report["user"] = "off: still root outside its user namespace, with no right to change uid"
                else:
                    report["user"] = f"on (the caller's uid {uid} alone in a user namespace, no capabilities)"
            elif is_root:
                os.setgroups([])
                os.setresgid(NOBODY, NOBODY, NOBODY)
                os.setresuid(NOBODY, NOBODY, NOBODY)
                report["user"] = f"on (uid {NOBODY}, no groups, no capabilities)"
            else:
                report["user"] = f"off: runs as the caller's uid {uid} (no user namespace, not root)"
        except OSError as exc:
            report["user"] = f"off: cannot drop privileges ({_reason(exc)})"
    if "processes" in wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
            if _fork_refused():
                report["processes"] = "on (RLIMIT_NPROC 0: fork fails)"
            else:
                report["processes"] = "off: fork still works, the worker's uid is exempt from RLIMIT_NPROC"
        except (OSError, ValueError) as exc:
            report["processes"] = f"off: {_reason(exc)}"
    try:
        report["limits"] = _set_limits(memory_limit_mb, vm)
        _check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
    except (OSError, ValueError) as exc:
        report["limits"] = f"off: {_reason(exc)}"
    if "seccomp" in wanted:
        try:
            report["seccomp"] = _install_seccomp(libc)
        except OSError as exc:
            report["seccomp"] = f"off: {_reason(exc)}"
    return report
