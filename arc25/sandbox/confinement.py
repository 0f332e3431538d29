"""Operating-system isolation of a sandbox worker, layer by layer, and the report of what is active.

A worker is four processes (``confine`` makes the first two, the worker forks the template with
``fork_program`` and the template each program child with ``fork_sibling``):

* the *outer* process, the one the pool started. It sets every layer up, forks the zygote and then
  only waits for it; it is the only one outside the worker's pid namespace (so no program can name it);
* the *zygote*, pid 1 of the worker's own pid namespace. It reads commands, starts one child per
  program, writes it its job, enforces its wall-clock deadline (SIGKILL), reaps it and relays its
  reply, tagged with the job id it started the child for. It never runs a program, and no program's
  process is forked from it (it holds jobs);
* the *template*, forked from the zygote at start-up before any job: it only forks, one program
  child for each pair of pipe ends the zygote sends it (clone with CLONE_PARENT, so the child is the
  zygote's);
* one *program child* per program, a copy of the template: it reads its own job from its pipe,
  tightens the filter and limits (``jail_program``), checks, compiles and runs its program, writes
  its reply to a pipe only the zygote reads, and exits. Nothing it does to its own memory reaches the
  next program, which starts from a fresh copy of the template.

Layers, in the order they are set up (each where the kernel allows it, reported where it does not):

* network, ipc, uts, pid, filesystem: new namespaces (an empty network namespace, private System V
  IPC and POSIX message queues that vanish with it, its own hostname, its own pid space whose init is
  the zygote, and a mount namespace whose root is an empty read-only tmpfs, entered with chroot).
  Unshared directly as root; otherwise (or without CAP_SYS_ADMIN) inside a new user namespace whose
  id maps a short-lived helper writes from outside;
* user and uid: as root, a uid (and gid) that no process on the machine has (``UID_BASE`` + the
  outer process's pid), no groups, no capabilities; as root inside a user namespace, that uid
  outside it; a non-root caller can only map its own uid, which the report says;
* limits: address space, no core dumps (not even to a core_pattern pipe), no file growth, few
  descriptors, no locked memory, no POSIX message queue bytes, no queued signals (POSIX timers), no
  new privileges; and per program child a hard CPU limit (SIGKILL) it cannot raise and RLIMIT_NPROC 0;
* lifetime: each generation gets SIGKILL when its parent dies (PR_SET_PDEATHSIG; the pool starts
  workers from one long-lived thread, so this is the caller's death), the outer process keeps a
  pipe whose hang-up also stops the zygote, and the zygote's death ends its pid namespace;
* seccomp: a BPF filter on the outer process and the zygote, and a second, stricter one on each
  program child (filters only ever add up). A system call of another architecture or of the x32 ABI
  (numbers from 2**30) kills the process. Refused (EPERM): sockets, exec, signals to other
  processes, open, namespaces, mounts, credentials, ptrace, keyrings, bpf, io_uring, memfd_create,
  System V IPC, POSIX message queues, priorities, affinities, I/O priorities, NUMA page moves,
  inotify, mlock, sync, changes to (and locks on) open files; ``fcntl`` and ``ioctl`` only with a
  few harmless commands (no F_SETOWN, F_SETSIG, O_ASYNC, FIOASYNC, FIOSETOWN, TIOCSTI); no writable
  and executable mapping. In a program child also: fork/clone, kill, prctl, seccomp, setrlimit,
  prlimit64, any executable mapping, and F_SETFL and FIONBIO (an open file's status flags are the
  open file's, which another process may share).
"""

from __future__ import annotations

import ctypes
import dataclasses
import math
import os
import platform
import select
import signal
import sys
import tempfile

try:
    import resource
except ImportError:  # not POSIX: the trusted path still imports this package; workers cannot start there
    resource = None

LINUX = sys.platform.startswith("linux")
# The layers a caller may switch off (to measure them); uid, limits and lifetime follow from the others.
OS_LAYERS = ("network", "filesystem", "user", "processes", "seccomp", "pid", "ipc", "uts")
LAYERS = (*OS_LAYERS, "uid", "limits", "lifetime", "fresh")  # "fresh": the pool's choice (``Sandbox(fresh=...)``)
NOBODY = 65534
UID_BASE = 1 << 30  # + a pid (< 2**22): far above every uid a distribution hands out
HOSTNAME = b"arc25-sandbox"

_CLONE_NEWNS, _CLONE_NEWUTS, _CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
_CLONE_NEWUSER, _CLONE_NEWPID, _CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
_CLONE_NEWCGROUP, _CLONE_NEWTIME = 0x02000000, 0x00000080
_NAMESPACE_FLAGS = {"network": _CLONE_NEWNET, "filesystem": _CLONE_NEWNS, "pid": _CLONE_NEWPID,
                    "ipc": _CLONE_NEWIPC, "uts": _CLONE_NEWUTS}
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REC, _MS_PRIVATE = 0x4000, 1 << 18
_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE, _PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP = 1, 4, 38, 22
_SECCOMP_MODE_FILTER = 2
_MAX_OPEN_FILES = 32
_ZYGOTE_NPROC = 6  # the outer process, the zygote, the template, one program child and two exiting (worker._Exiting)

# x86-64 numbers of the system calls refused outright. A worker needs none of them once it is set up:
# it reads and writes pipes, maps memory, forks (the zygote only), waits, and exits.
_DENIED_X86_64 = {
    "sockets": (41, 42, 43, 49, 50, 53, 288),  # socket connect accept bind listen socketpair accept4
    "processes": (57, 58, 59, 322),  # fork vfork execve execveat (clone: below; clone3: ENOSYS)
    "signals": (200, 234, 129, 297, 424, 434, 438),  # tkill tgkill rt_(tg)sigqueueinfo pidfd_* (kill: below)
    "other processes": (101, 310, 311, 312, 440, 448),  # ptrace process_vm_readv/writev kcmp process_madvise/mrelease
    "files": (2, 85, 257, 437, 303, 304, 133, 259, 319, 447),  # open creat openat openat2 *_handle_at mknod(at) memfd_*
    # The host's /dev/null stays open in the zygote and the template (descriptors 0-2; a program's process closes
    # them): no mode, owner, times, extended attributes or lock for it (an exclusive flock outlived the program and
    # hung whoever locked it on the host).
    "files held open": (73, 90, 91, 268, 452, 92, 93, 94, 260, 132, 235, 261, 280,  # flock chmod* chown* utime*
                        188, 189, 190, 197, 198, 199, 463, 466),  # set/remove xattr
    "namespaces and mounts": (272, 308, 165, 166, 155, 161, 428, 429, 430, 431, 432, 433, 442, 457, 458),
    "credentials": (105, 106, 113, 114, 116, 117, 119, 122, 123, 126),  # set*id setgroups capset
    "System V IPC and message queues": (29, 30, 31, 67, 64, 65, 66, 220, 68, 69, 70, 71, 240, 241, 242, 243, 244, 245),
    "priorities and placement": (140, 141, 142, 144, 203, 251, 252, 314, 237, 238, 256, 279, 450),
    "notifications and locked memory": (253, 254, 255, 294, 300, 301, 149, 151, 325),  # inotify fanotify mlock
    # sync syncfs: they wait for every dirty page of the host, and a process killed meanwhile dies only after, so
    # the zygote, which reaps answered children before it forks again, would wait and the next programs be late.
    "waits on the host's disks": (162, 306),
    "kernel": (250, 248, 249, 321, 298, 323, 425, 426, 427, 135, 163, 167, 168, 169, 170, 171, 172, 173,
               175, 176, 179, 246, 313, 320, 103, 134, 136, 139, 154, 156, 206, 207, 208, 209, 210, 459, 460, 461),
}
# Refused only in a program child (the zygote needs them to make and limit children).
_CHILD_DENIED_X86_64 = (56, 62, 157, 317, 160, 302)  # clone kill prctl seccomp setrlimit prlimit64
_CLONE3 = 435
_SYS_FCNTL, _SYS_IOCTL, _SYS_CLONE, _SYS_KILL, _SYS_PRCTL, _SYS_PRLIMIT64 = 72, 16, 56, 62, 157, 302
_SYS_MMAP, _SYS_MPROTECT, _SYS_PKEY_MPROTECT = 9, 10, 329
_FCNTL_ALLOWED = (0, 1, 2, 3, 1030)  # F_DUPFD F_GETFD F_SETFD F_GETFL F_DUPFD_CLOEXEC (F_SETFL: without O_ASYNC)
_F_SETFL, _O_ASYNC, _FIONBIO = 4, 0o20000, 0x5421
_IOCTL_ALLOWED = (0x5401, 0x5421, 0x5450, 0x5451, 0x541B)  # TCGETS FIONBIO FIONCLEX FIOCLEX FIONREAD
_PRCTL_ALLOWED = (_PR_SET_PDEATHSIG, _PR_SET_SECCOMP, _PR_SET_NO_NEW_PRIVS)
_PROT_WRITE, _PROT_EXEC = 2, 4
_SECCOMP_ARCHES = {"x86_64": 0xC000003E}

# What confine set up, for the program children it will fork.
_STATE = {"seccomp": False, "processes": False}


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


_LIBC = None


def _libc():
    global _LIBC
    if _LIBC is None:
        _LIBC = ctypes.CDLL(None, use_errno=True)
    return _LIBC


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


def die_with_parent(expected_parent: int | None = None) -> None:
    """SIGKILL this process when the thread that forked it ends; exit now if that already happened."""
    if not LINUX:
        return
    _check(_libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0))
    if expected_parent is not None and os.getppid() != expected_parent:
        os._exit(5)


# --------------------------------------------------------------------------- uids


def _uid_in_use(uid: int) -> bool:
    """Whether any process this one can see has ``uid`` as a real, effective, saved or filesystem uid (or gid)."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return False
    wanted = str(uid)
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as status:
                for line in status:
                    if line.startswith(("Uid:", "Gid:")) and wanted in line.split()[1:]:
                        return True
        except OSError:
            continue
    return False


def unique_uid() -> int:
    """A uid no process has: ``UID_BASE`` + this process's pid (pids are unique among live processes), checked."""
    uid = UID_BASE + os.getpid()
    while _uid_in_use(uid):  # only if someone else uses this range: step past the whole pid range
        uid += 1 << 22
    return uid


# --------------------------------------------------------------------------- seccomp


def _assemble(items: list) -> bytes:
    """Classic BPF from ("ld", offset), (jump, k, true_label, false_label) with None for the next
    instruction, ("ret", value) and ("label", name); labels must come after their jumps."""
    codes = {"ld": 0x20, "jeq": 0x15, "jge": 0x35, "jset": 0x45, "ret": 0x06}
    positions, count = {}, 0
    for item in items:
        if item[0] == "label":
            positions[item[1]] = count
        else:
            count += 1
    out, index = [], 0
    for item in items:
        kind = item[0]
        if kind == "label":
            continue
        if kind == "ld":
            out.append((codes["ld"], 0, 0, item[1]))
        elif kind == "ret":
            out.append((codes["ret"], 0, 0, item[1]))
        else:
            _, k, true, false = item
            offsets = [0 if label is None else positions[label] - index - 1 for label in (true, false)]
            if not all(0 <= offset < 256 for offset in offsets):
                raise ValueError(f"BPF jump out of range at {index}")
            out.append((codes[kind], offsets[0], offsets[1], k))
        index += 1
    return b"".join(op.to_bytes(2, "little") + bytes((jt, jf)) + k.to_bytes(4, "little") for op, jt, jf, k in out)


_ALLOW, _KILL, _EPERM, _ENOSYS = 0x7FFF0000, 0x80000000, 0x00050000 | 1, 0x00050000 | 38


def _arg(index: int) -> int:
    return 16 + 8 * index  # low 32 bits of argument ``index`` in struct seccomp_data (little-endian)


def _filter_items(arch: int, *, child: bool) -> list:
    """The zygote's filter (``child=False``) or the extra filter of a program child."""
    items = [("ld", 4), ("jeq", arch, None, "kill"), ("ld", 0), ("jge", 0x40000000, "kill", None)]
    blocks: list[tuple[int, list]] = []
    exec_check = [("ld", _arg(2)), ("jset", _PROT_EXEC, None, "allow")]
    exec_check += [("ret", _EPERM)] if child else [("jset", _PROT_WRITE, "eperm", "allow")]
    for number in (_SYS_MMAP, _SYS_MPROTECT, _SYS_PKEY_MPROTECT):
        blocks.append((number, exec_check))
    if not child:
        namespaces = (_CLONE_NEWNS | _CLONE_NEWUTS | _CLONE_NEWIPC | _CLONE_NEWUSER | _CLONE_NEWPID | _CLONE_NEWNET
                      | _CLONE_NEWCGROUP | _CLONE_NEWTIME)
        blocks.append((_SYS_CLONE, [("ld", _arg(0)), ("jset", namespaces, "eperm", "allow")]))
        blocks.append((_SYS_KILL, [("ld", _arg(1)), ("jeq", signal.SIGKILL, "allow", "eperm")]))
        blocks.append((_SYS_PRCTL, [("ld", _arg(0))] + [("jeq", v, "allow", None) for v in _PRCTL_ALLOWED] + [("ret", _EPERM)]))
        blocks.append((_SYS_PRLIMIT64, [("ld", _arg(0)), ("jeq", 0, "allow", "eperm")]))
        setfl = [("ld", _arg(1)), ("jeq", _F_SETFL, None, "fcntl_other"), ("ld", _arg(2)), ("jset", _O_ASYNC, "eperm", "allow"),
                 ("label", "fcntl_other")]
        blocks.append((_SYS_FCNTL, setfl + [("jeq", v, "allow", None) for v in _FCNTL_ALLOWED] + [("ret", _EPERM)]))
        blocks.append((_SYS_IOCTL, [("ld", _arg(1))] + [("jeq", v, "allow", None) for v in _IOCTL_ALLOWED] + [("ret", _EPERM)]))
    else:
        # A program's process changes no open file's status flags, not even its own pipes': flags belong to the open
        # file, which another process may share (the host's /dev/null was once, and its flags a channel between calls).
        blocks.append((_SYS_FCNTL, [("ld", _arg(1)), ("jeq", _F_SETFL, "eperm", "allow")]))
        blocks.append((_SYS_IOCTL, [("ld", _arg(1)), ("jeq", _FIONBIO, "eperm", "allow")]))
    for index, (number, block) in enumerate(blocks):
        items += [("jeq", number, None, f"next{index}")] + block + [("label", f"next{index}"), ("ld", 0)]
    items.append(("jeq", _CLONE3, "enosys", None))
    numbers = sorted(set(_CHILD_DENIED_X86_64)) if child else sorted({n for group in _DENIED_X86_64.values() for n in group})
    for number in numbers:
        items += [("jeq", number, None, f"skip{number}"), ("ret", _EPERM), ("label", f"skip{number}")]
    items += [("label", "allow"), ("ret", _ALLOW), ("label", "eperm"), ("ret", _EPERM), ("label", "enosys"),
              ("ret", _ENOSYS), ("label", "kill"), ("ret", _KILL)]
    return items


def _far_jumps(items: list) -> list:
    """Jumps to the shared return labels may be too far for BPF's 8-bit offsets: give each block its own copy."""
    out, copies = [], 0
    shared = {"allow": _ALLOW, "eperm": _EPERM, "enosys": _ENOSYS, "kill": _KILL}
    pending: dict[str, str] = {}
    for item in items:
        if item[0] in ("jeq", "jge", "jset"):
            labels = []
            for label in item[2:]:
                if label in shared:
                    local = pending.get(label)
                    if local is None:
                        copies += 1
                        local = pending[label] = f"{label}_{copies}"
                    labels.append(local)
                else:
                    labels.append(label)
            out.append((item[0], item[1], *labels))
        elif item[0] == "label" and item[1].startswith(("next", "skip")) and pending:
            # Flush local copies of the returns right before the next block starts; jump over them.
            out.append(("jeq", 0, f"over_{item[1]}", f"over_{item[1]}"))
            for label, local in pending.items():
                out += [("label", local), ("ret", shared[label])]
            pending.clear()
            out += [("label", f"over_{item[1]}"), item]
        else:
            out.append(item)
    for label, local in pending.items():
        out += [("label", local), ("ret", shared[label])]
    return out


def seccomp_program(*, child: bool, machine: str | None = None) -> bytes:
    machine = machine or platform.machine()
    if machine not in _SECCOMP_ARCHES:
        raise OSError(f"no system call table for {machine}")
    return _assemble(_far_jumps(_filter_items(_SECCOMP_ARCHES[machine], child=child)))


class _Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _prepared_filter(program: bytes) -> tuple:
    """What ``prctl`` takes for ``program``, built once: a program's process installs it without building anything."""
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _Fprog(len(program) // 8, ctypes.addressof(buffer))
    return buffer, fprog, ctypes.byref(fprog)


def _install_filter(prepared: tuple) -> None:
    _check(_libc().prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, prepared[2], 0, 0))


def _install_seccomp() -> str:
    _install_filter(_prepared_filter(seccomp_program(child=False)))
    _CHILD_FILTER[0] = _prepared_filter(seccomp_program(child=True))
    refused = len({n for group in _DENIED_X86_64.values() for n in group})
    return (f"on ({refused} calls refused, fcntl/ioctl/clone/kill/prctl/prlimit64 by argument, no W+X maps; a "
            f"program's process also refuses clone, kill, prctl, seccomp, setrlimit, prlimit64, executable maps)")


_CHILD_FILTER: list = [None]


# --------------------------------------------------------------------------- capabilities and limits


def _drop_capabilities() -> None:
    class _Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class _Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    header, data = _Header(0x20080522, 0), (_Data * 2)()
    _check(_libc().capset(ctypes.byref(header), data))


def _set_limits(memory_limit_mb: int, vm: int | None) -> str:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (_MAX_OPEN_FILES, _MAX_OPEN_FILES))
    # No queued signals: a POSIX timer holds one's kernel memory (outside the address-space limit), and a user
    # namespace charges their count to its owner too (a root caller's, when it lacks CAP_SYS_ADMIN), so timers made
    # by the thousand left the owner's processes unable to make one. The kernel's own signals queue regardless.
    for name in ("RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_SIGPENDING"):
        if hasattr(resource, name):
            resource.setrlimit(getattr(resource, name), (0, 0))
    detail = "no core dumps, no file growth, no locked memory, no queued signals, a hard CPU limit per program's process"
    if memory_limit_mb > 0 and vm is not None:
        limit = vm + memory_limit_mb * (1 << 20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        detail = f"address space +{memory_limit_mb} MB, " + detail
    return f"on ({detail})"


# --------------------------------------------------------------------------- namespaces


def _map_ids_from_outside(target_pid: int, uid: int, gid: int, go_r: int, done_w: int) -> None:
    """The helper: wait until ``target_pid`` is in its new user namespace, write its id maps, report, exit."""
    status = 1
    try:
        os.read(go_r, 1)
        try:
            _write(f"/proc/{target_pid}/setgroups", "deny")
        except OSError:
            pass
        _write(f"/proc/{target_pid}/uid_map", f"0 {uid} 1")
        _write(f"/proc/{target_pid}/gid_map", f"0 {gid} 1")
        status = 0
    except BaseException:  # noqa: BLE001 - the parent learns it from the status
        status = 1
    finally:
        try:
            os.write(done_w, bytes((status,)))
        finally:
            os._exit(status)


def _unshare_in_user_namespace(flags: int, uid: int, gid: int) -> None:
    """Unshare ``flags`` with a new user namespace; a helper left outside maps root inside to ``uid``/``gid``."""
    libc = _libc()
    go_r, go_w = os.pipe()
    done_r, done_w = os.pipe()
    parent = os.getpid()
    helper = os.fork()
    if helper == 0:
        os.close(go_w)
        os.close(done_r)
        _map_ids_from_outside(parent, uid, gid, go_r, done_w)
    os.close(go_r)
    os.close(done_w)
    try:
        try:
            _check(libc.unshare(flags | _CLONE_NEWUSER))
        finally:
            os.write(go_w, b"x")  # the helper goes either way (and fails if there is no new namespace)
        answer = os.read(done_r, 1)
    finally:
        os.close(go_w)
        os.close(done_r)
        os.waitpid(helper, 0)
    if answer != b"\x00":
        raise OSError("could not map the worker's uid into its user namespace")


def _enter_namespaces(flags: int, is_root: bool, uid: int, gid: int) -> bool:
    """Unshare ``flags`` (adding a user namespace when not root, or when root lacks the right); True if in one."""
    error: OSError | None = None
    if is_root:
        try:
            _check(_libc().unshare(flags))
            return False
        except OSError as exc:
            error = exc
    try:
        _unshare_in_user_namespace(flags, uid, gid)
        return True
    except OSError as exc:
        raise error or exc from None


# --------------------------------------------------------------------------- the worker's generations


_NAMESPACE_ROOT = b"/tmp"


def _enter_removed_directory() -> None:
    """Make an empty directory, step into it and remove it: the working directory it leaves has no name on the host."""
    path = tempfile.mkdtemp(prefix="arc25-sandbox-root-")
    try:
        os.chdir(path)
    finally:
        os.rmdir(path)


def confine(memory_limit_mb: int, wanted=OS_LAYERS, parent: int | None = None) -> tuple[dict[str, str], int]:
    """Set up every ``wanted`` layer, fork the zygote and return *in the zygote* (report, lifeline fd).

    Called by the (single-threaded, set-up) outer worker process; that process never returns from
    here: it waits for the zygote and exits with its status. The lifeline fd reads EOF (hangs up) when
    the outer process is gone. ``parent``: the caller's pid, whose death must end the worker (Linux
    forgets a parent-death signal when credentials change, so it is set again once they have).
    """
    report = {name: "off: not asked for" for name in LAYERS}
    vm = _vm_bytes()
    if not LINUX:
        for name in (*wanted, "uid", "lifetime"):
            report[name] = f"off: needs Linux (this is {sys.platform})"
        try:
            report["limits"] = _set_limits(memory_limit_mb, vm)
        except (OSError, ValueError) as exc:
            report["limits"] = f"off: {_reason(exc)}"
        return report, _fork_zygote(report)
    libc = _libc()
    is_root = os.geteuid() == 0
    caller_uid, caller_gid = os.getuid(), os.getgid()
    own_uid = unique_uid() if is_root and "user" in wanted else None
    if own_uid is not None:
        try:
            os.setgroups([])  # now, while root may: in a user namespace setgroups is denied (its gid map needs that)
        except OSError:
            pass  # the path without a user namespace tries again, and reports it
    flags = 0
    for name, flag in _NAMESPACE_FLAGS.items():
        if name in wanted:
            flags |= flag
    in_userns = False
    if flags:
        outside = (own_uid, own_uid) if own_uid is not None else (caller_uid, caller_gid)
        try:
            in_userns = _enter_namespaces(flags, is_root, *outside)
            how = " (inside a user namespace)" if in_userns else ""
            descriptions = {
                "network": "own network namespace: loopback only, down",
                "pid": "own pid namespace: the zygote is its pid 1, a program sees only its own process",
                "ipc": "own IPC namespace: no System V object or POSIX message queue of the host, none left behind",
                "uts": f"own UTS namespace: hostname {HOSTNAME.decode()}",
            }
            for name, text in descriptions.items():
                if name in wanted:
                    report[name] = f"on ({text}{how})"
        except OSError as exc:
            for name in ("network", "pid", "ipc", "uts"):
                if name in wanted:
                    report[name] = f"off: cannot create namespaces ({_reason(exc)})"
            flags = 0
    if "uts" in wanted and flags & _CLONE_NEWUTS:
        try:
            _check(libc.sethostname(HOSTNAME, len(HOSTNAME)))
        except OSError as exc:
            report["uts"] = f"off: cannot set the hostname ({_reason(exc)})"
    if "filesystem" in wanted:
        try:
            # Nothing of the root may outlive the worker on the host, even when its caller is killed mid-start:
            # in a mount namespace the tmpfs covers /tmp in that namespace alone; without one, the worker enters
            # a directory it made and already removed (which also refuses every new entry).
            if flags & _CLONE_NEWNS:
                _check(libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None))
                ro = _MS_RDONLY | _MS_NOSUID | _MS_NODEV | _MS_NOEXEC
                _check(libc.mount(b"arc25-sandbox", _NAMESPACE_ROOT, b"tmpfs", ro, b"size=4k,mode=0555"))
                os.chdir(_NAMESPACE_ROOT)
                how = "root is an empty read-only tmpfs in its own mount namespace"
            elif is_root:
                _enter_removed_directory()
                how = "chroot to an empty, already removed directory (no mount namespace)"
            else:
                raise OSError("needs root or a user namespace")
            os.chroot(".")
            os.chdir("/")
            report["filesystem"] = f"on ({how})"
        except OSError as exc:
            report["filesystem"] = f"off: cannot change root ({_reason(exc)})"
    if "user" in wanted:
        try:
            if in_userns:
                # Unsharing a user namespace changes no id: until it takes the ids the helper mapped (0 inside), the
                # worker is whoever started it, for root the host's root, owner of what it holds open (the host's
                # /dev/null, whose mode it could change) whatever uid the report names.
                os.setresgid(0, 0, 0)
                os.setresuid(0, 0, 0)
                _drop_capabilities()
                if own_uid is not None:
                    report["user"] = f"on (root of its own user namespace with no capabilities; uid {own_uid} outside)"
                else:
                    report["user"] = f"on (the caller's uid {caller_uid} alone in a user namespace, no capabilities)"
            elif is_root:
                os.setgroups([])
                os.setresgid(own_uid, own_uid, own_uid)
                os.setresuid(own_uid, own_uid, own_uid)
                report["user"] = f"on (uid {own_uid}, no groups, no capabilities)"
            else:
                report["user"] = f"off: runs as the caller's uid {caller_uid} (no user namespace, not root)"
                own_uid = None
        except OSError as exc:
            report["user"] = f"off: cannot drop privileges ({_reason(exc)})"
            own_uid = None
        if own_uid is not None:
            report["uid"] = f"on (uid {own_uid}: no other process had it; one per worker)"
        elif is_root:
            report["uid"] = "off: the worker could not take a uid of its own"
        else:
            report["uid"] = (f"off: shares the caller's uid {caller_uid} (only root can map another uid into a user "
                             "namespace); its pid namespace hides every other process of that uid")
    try:
        report["limits"] = _set_limits(memory_limit_mb, vm)
        if "processes" in wanted:
            resource.setrlimit(resource.RLIMIT_NPROC, (_ZYGOTE_NPROC, _ZYGOTE_NPROC))
            report["processes"] = "on (RLIMIT_NPROC 0 in each program's process; the worker checks that fork fails)"
        _check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
        # RLIMIT_CORE 0 stops only the core files the kernel writes itself: a pipe core_pattern (systemd-coredump,
        # apport) gets a dumpable process's whole memory, through a helper running as root on the host.
        _check(libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0))
    except (OSError, ValueError) as exc:
        report["limits"] = f"off: {_reason(exc)}"
    _STATE["processes"] = "processes" in wanted
    if parent is not None:
        die_with_parent(parent)  # again: unsharing a user namespace or changing uid cleared it
    if "seccomp" in wanted:
        try:
            report["seccomp"] = _install_seccomp()
            _STATE["seccomp"] = True
        except OSError as exc:
            report["seccomp"] = f"off: {_reason(exc)}"
    return report, _fork_zygote(report)


def _fork_zygote(report: dict) -> int:
    """Fork the zygote; the outer process waits for it and exits with its status. Returns the lifeline fd."""
    lifeline_r, lifeline_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(lifeline_w)
        if LINUX:  # a fork child has one thread: see fork_program
            bare = ctypes.PyDLL(None, use_errno=True).fork
            bare.restype, bare.argtypes = ctypes.c_int, ()
            _BARE_FORK[0] = bare
            call = ctypes.PyDLL(None, use_errno=True).syscall
            call.restype, call.argtypes = ctypes.c_long, [ctypes.c_long] * 6
            _BARE_SYSCALL[0] = call
        try:
            die_with_parent()
            # The outer process may have died before the line above: then the lifeline has hung up.
            if select.select([lifeline_r], [], [], 0)[0]:
                os._exit(6)
            report["lifetime"] = (
                "on (SIGKILL when the caller dies: parent-death signal on every generation, the pool starts "
                "workers from one long-lived thread; the zygote enforces each program's wall-clock deadline)"
                if LINUX else f"off: needs Linux (this is {sys.platform})")
        except OSError as exc:
            report["lifetime"] = f"off: {_reason(exc)}"
        return lifeline_r
    os.close(lifeline_r)
    for fd in range(3, _MAX_OPEN_FILES + 64):
        if fd != lifeline_w:
            try:
                os.close(fd)
            except OSError:
                pass
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
        except OSError:
            os._exit(7)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))


_BARE_FORK: list = [None]
_BARE_SYSCALL: list = [None]
_CLONE_PARENT = 0x00008000


def fork_sibling() -> int:
    """From the template: a program child whose parent is the template's parent, the zygote (clone with
    CLONE_PARENT), so that the zygote waits for it, kills it and reads its exit status as if it had forked it.
    0 in the child, its pid in the template; OSError if the kernel refuses. Like ``fork_program``, the raw call
    keeps the interpreter lock and skips Python's after-fork work (the template has one thread and holds no lock)."""
    call = _BARE_SYSCALL[0]
    if call is None:
        call = ctypes.PyDLL(None, use_errno=True).syscall
        call.restype, call.argtypes = ctypes.c_long, [ctypes.c_long] * 6
        _BARE_SYSCALL[0] = call
    pid = call(_SYS_CLONE, _CLONE_PARENT | signal.SIGCHLD, 0, 0, 0, 0)
    if pid < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return pid


def fork_program() -> int:
    """Fork a program child from the zygote: 0 in the child, its pid in the zygote; OSError if the kernel refuses.

    Python's ``os.fork`` runs the interpreter's after-fork work in the child (thread and lock
    re-initialisation, at-fork hooks such as ``random``'s reseed), which dirties a couple of hundred
    copy-on-write pages: more than a typical program does. The zygote is itself a fork child (so it
    has one thread) and holds no lock across a fork, so it calls libc's ``fork`` directly, through
    ``PyDLL``: the interpreter lock stays held and the child resumes exactly where the zygote was.
    Anywhere else (no zygote, not Linux), ``os.fork``.
    """
    bare = _BARE_FORK[0]
    if bare is None:
        return os.fork()
    pid = bare()
    if pid < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return pid


def trim_heap() -> None:
    """Give the memory that malloc holds free back to the kernel (glibc only; elsewhere nothing)."""
    trim = getattr(_libc(), "malloc_trim", None) if LINUX else None
    if trim is not None:
        trim(0)


def jail_program(timeout_s: float) -> None:
    """In a freshly forked program child: die with the zygote, a hard CPU limit, no processes, the stricter filter."""
    if LINUX:
        _check(_libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0))
    cpu = max(1, math.ceil(timeout_s)) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU, then SIGKILL a second later
    if _STATE["processes"]:
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    if _STATE["seccomp"]:
        _install_filter(_CHILD_FILTER[0])


def probe_processes() -> str:
    """In a jailed program child: the "processes" layer as it stands (fork must fail)."""
    if not _STATE["processes"]:
        return "off: not asked for"
    try:
        pid = os.fork()
    except OSError as exc:
        return f"on (a program's process cannot fork: RLIMIT_NPROC 0{', and seccomp' if _STATE['seccomp'] else ''}; {_reason(exc)})"
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return "off: a program's process can still fork"
