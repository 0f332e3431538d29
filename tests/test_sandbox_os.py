"""Tests for the sandbox's operating-system layers and for callers of every shape.

The OS layers are probed directly: a subprocess runs ``confine`` the way a worker does, forks and
jails a program's process from the zygote, and there tries, with plain Python (no AST check, no
restricted runtime, ctypes at hand), what a program that escaped the in-process layers would try. Each probe has a control run without the layer, so a test cannot
pass just because the action fails anyway.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from arc25.sandbox import Sandbox, isolation
from arc25.sandbox.confinement import LAYERS, OS_LAYERS

LINUX = sys.platform.startswith("linux")
ROOT = Path(__file__).resolve().parents[1]

_PROBE = r"""
import ctypes, json, os, resource, socket, sys
from arc25.sandbox.confinement import confine, jail_program

out, target, port, wanted, caller = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
libc = ctypes.CDLL(None, use_errno=True)
report, lifeline = confine(512, tuple(filter(None, wanted.split(","))))
# Now the zygote: fork a program's process, jail it as the worker does, and try everything in it.
child = os.fork()
if child:
    os.waitpid(child, 0)
    os._exit(0)
jail_program(5.0)
results = {}

def attempt(name, action):
    try:
        action()
        results[name] = "allowed"
    except BaseException as exc:
        results[name] = type(exc).__name__

def fork():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)

def libc_call(name, *args):
    def call():
        if getattr(libc, name)(*args) != 0:
            raise OSError(ctypes.get_errno(), name)
    return call

attempt("connect", lambda: socket.create_connection(("127.0.0.1", port), timeout=2).close())
attempt("socket", lambda: socket.socket().close())
attempt("fork", fork)
attempt("spawn", lambda: os.waitpid(os.posix_spawn("/bin/true", ["true"], {}), 0))
attempt("read_etc", lambda: open("/etc/hostname").read())
attempt("read_proc", lambda: open("/proc/self/status").read())
attempt("list_proc", lambda: os.listdir("/proc"))
attempt("write_file", lambda: open(os.path.join(target, "w.txt"), "w").write("x"))
attempt("mkdir", lambda: os.mkdir(os.path.join(target, "d")))
attempt("signal_caller", lambda: os.kill(caller, 0))
attempt("raise_nproc", lambda: resource.setrlimit(resource.RLIMIT_NPROC, (100, 100)))
attempt("raise_memory", lambda: resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY,) * 2))
attempt("raise_cpu", lambda: resource.setrlimit(resource.RLIMIT_CPU, (resource.RLIM_INFINITY,) * 2))
attempt("setuid_root", lambda: os.setuid(0))
attempt("unshare", libc_call("unshare", 0x10000000 | 0x00020000))
attempt("chroot_escape", lambda: os.chroot(".."))
attempt("mount", libc_call("mount", b"none", b"/", b"tmpfs", 0, None))
try:
    root_listing = os.listdir("/")
except OSError as exc:
    root_listing = type(exc).__name__
os.write(out, json.dumps({"report": report, "results": results, "root": root_listing}).encode())
attempt("exec", lambda: os.execv("/bin/true", ["true"]))
os.write(out, json.dumps({"exec": results["exec"]}).encode())
os._exit(0)
"""


def probe(tmp_path: Path, port: int, layers: tuple[str, ...]) -> dict:
    """Run the probe under ``layers``; returns {"report", "results", "root", "exec"}."""
    target = tmp_path / "target"
    target.mkdir(exist_ok=True)
    read_fd, write_fd = os.pipe()
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE, str(write_fd), str(target), str(port), ",".join(layers),
             str(os.getpid())],
            pass_fds=(write_fd,),
            capture_output=True,
            timeout=60,
            check=False,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        os.close(write_fd)
        write_fd = -1
        with os.fdopen(read_fd, "rb") as pipe:
            data = pipe.read().decode()
    finally:
        if write_fd >= 0:
            os.close(write_fd)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    first, _, second = data.partition("}{")
    found = json.loads(first + "}")
    found["exec"] = json.loads("{" + second)["exec"] if second else "allowed"
    return found


@pytest.fixture
def listener():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield server
    server.close()


def _require(report: dict, layers: tuple[str, ...]) -> None:
    off = {name: report[name] for name in layers if not report[name].startswith("on")}
    if off:
        pytest.skip(f"layers not available here: {off}")


@pytest.mark.skipif(not LINUX, reason="the OS layers are Linux namespaces, rlimits and seccomp")
def test_all_layers_refuse_what_an_escaped_program_would_try(tmp_path, listener):
    found = probe(tmp_path, listener.getsockname()[1], OS_LAYERS)
    _require(found["report"], OS_LAYERS)
    allowed = {name: outcome for name, outcome in {**found["results"], "exec": found["exec"]}.items() if outcome == "allowed"}
    assert allowed == {}, found
    assert found["root"] == "PermissionError"  # seccomp refuses even opening the (empty) root
    assert list((tmp_path / "target").iterdir()) == []
    listener.setblocking(False)
    with pytest.raises(BlockingIOError):
        listener.accept()  # nobody connected


@pytest.mark.skipif(not LINUX, reason="Linux network namespaces")
def test_network_namespace_alone_blocks_loopback(tmp_path, listener):
    port = listener.getsockname()[1]
    control = probe(tmp_path, port, ())
    assert control["results"]["connect"] == "allowed"  # without the layer the probe does reach the caller
    listener.accept()[0].close()
    found = probe(tmp_path, port, ("network",))
    _require(found["report"], ("network",))
    assert found["results"]["connect"] == "OSError"  # ENETUNREACH: no interface is up
    assert found["results"]["socket"] == "allowed"  # the namespace, not seccomp, did it


@pytest.mark.skipif(not LINUX or os.geteuid() != 0, reason="dropping to nobody needs root; see the user-namespace path")
def test_unprivileged_user_blocks_fork_and_signals_to_the_caller(tmp_path, listener):
    port = listener.getsockname()[1]
    control = probe(tmp_path, port, ())
    assert control["results"]["fork"] == "allowed" and control["results"]["signal_caller"] == "allowed"
    found = probe(tmp_path, port, ("user", "processes"))
    _require(found["report"], ("user", "processes"))
    assert found["results"]["fork"] == "BlockingIOError"  # EAGAIN: RLIMIT_NPROC
    assert found["results"]["signal_caller"] == "PermissionError"
    assert found["results"]["setuid_root"] == "PermissionError"
    assert found["results"]["raise_nproc"] in ("ValueError", "PermissionError")


@pytest.mark.skipif(not LINUX, reason="Linux mount namespaces and chroot")
def test_filesystem_layer_hides_files_and_proc(tmp_path, listener):
    port = listener.getsockname()[1]
    control = probe(tmp_path, port, ())
    assert control["results"]["read_proc"] == "allowed" and control["results"]["read_etc"] == "allowed"
    (tmp_path / "target" / "w.txt").unlink()
    (tmp_path / "target" / "d").rmdir()
    found = probe(tmp_path, port, ("filesystem",))
    _require(found["report"], ("filesystem",))
    for name in ("read_etc", "read_proc", "list_proc", "write_file", "mkdir", "spawn"):
        assert found["results"][name] in ("FileNotFoundError", "OSError", "PermissionError"), (name, found)
    assert found["exec"] != "allowed" and found["root"] == []
    assert list((tmp_path / "target").iterdir()) == []


@pytest.mark.skipif(not LINUX, reason="seccomp is Linux")
def test_seccomp_alone_refuses_sockets_processes_and_escapes(tmp_path, listener):
    found = probe(tmp_path, listener.getsockname()[1], ("seccomp",))
    _require(found["report"], ("seccomp",))
    results = found["results"]
    for name in ("socket", "connect", "fork", "spawn", "read_etc", "read_proc", "signal_caller", "unshare", "mount",
                 "chroot_escape", "setuid_root", "raise_cpu", "raise_nproc"):
        # resource.setrlimit reports EPERM as ValueError
        assert results[name] in ("PermissionError", "ValueError" if name.startswith("raise") else ""), (name, found)
    assert found["exec"] == "PermissionError"


def test_isolation_report_names_every_layer():
    report = isolation()
    assert tuple(report.layers) == LAYERS
    assert all(state.startswith(("on (", "off: ")) for state in report.layers.values())
    assert set(report.active) | set(report.missing) == set(LAYERS)
    assert "\n" not in report.summary() and report.summary().startswith("sandbox isolation:")
    if LINUX and os.geteuid() == 0:
        assert report.missing == (), report.summary()  # CI and the GPU machine run as root: everything is on


def test_bad_pool_settings_are_clear_errors():
    with pytest.raises(ValueError, match="layers must be a tuple of network, filesystem.*'firewall'"):
        Sandbox(layers=("network", "firewall"))
    with pytest.raises(ValueError, match="n_workers must be a positive int or None, got 0"):
        Sandbox(n_workers=0)


# --------------------------------------------------------------------------- callers of every shape

_USER_SCRIPT = """\
import numpy as np
from arc25.sandbox import execute
print("top-level side effect")
print(execute("def task(img):\\n    img[0, 0] = 1\\n    return img", [np.zeros((2, 2), dtype=int)]))
"""
_EXPECTED = "top-level side effect\n[array([[1, 0],\n       [0, 0]])]\n"


def _run_python(args: list[str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, input=stdin, capture_output=True, text=True, timeout=120, env=env, check=False
    )


def test_unguarded_script_runs_its_top_level_once(tmp_path):
    script = tmp_path / "user_script.py"
    script.write_text(_USER_SCRIPT)
    proc = _run_python([str(script)], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout == _EXPECTED


@pytest.mark.parametrize("how", ["python -c", "stdin", "interactive"])
def test_sandbox_works_from_c_stdin_and_a_repl(tmp_path, how):
    if how == "python -c":
        proc = _run_python(["-c", _USER_SCRIPT], tmp_path)
    elif how == "stdin":
        proc = _run_python(["-"], tmp_path, stdin=_USER_SCRIPT)
    else:
        proc = _run_python(["-q", "-i"], tmp_path, stdin=_USER_SCRIPT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("top-level side effect") == 1
    assert "[array([[1, 0]," in proc.stdout


def test_forked_child_gets_its_own_pool(tmp_path):
    """A DataLoader worker forked from a process that already has a pool: both keep working."""
    script = tmp_path / "forks.py"
    script.write_text(textwrap.dedent(
        """
        import os
        import numpy as np
        from arc25.sandbox import execute

        code = "def task(img):\\n    return np.fliplr(img)\\n"
        grid = np.arange(6).reshape(2, 3) % 10
        before = execute(code, [grid])[0].tolist()
        pid = os.fork()
        if pid == 0:
            print("child", execute(code, [grid])[0].tolist(), flush=True)
            os._exit(0)
        os.waitpid(pid, 0)
        print("parent", before, execute(code, [grid])[0].tolist())
        """
    ))
    proc = _run_python([str(script)], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    flipped = np.fliplr(np.arange(6).reshape(2, 3) % 10).tolist()
    assert proc.stdout.splitlines() == [f"child {flipped}", f"parent {flipped} {flipped}"]


def test_the_guard_is_not_needed_in_a_script_that_spawns_threads(tmp_path):
    script = tmp_path / "threads.py"
    script.write_text(textwrap.dedent(
        """
        import threading
        from arc25.sandbox import execute_batch
        print("once")
        results = []
        threads = [threading.Thread(target=lambda: results.append(execute_batch(["def task(img):\\n    return img\\n"] * 8, [[[1]]])))
                   for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(sum(isinstance(r, list) for batch in results for r in batch))
        """
    ))
    proc = _run_python([str(script)], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout == "once\n24\n"


@pytest.mark.skipif(not LINUX or os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root and setpriv to take CAP_SYS_ADMIN away")
def test_without_cap_sys_admin_namespaces_come_from_a_user_namespace_with_a_uid_of_its_own(tmp_path):
    """Root without CAP_SYS_ADMIN (a locked-down container): a user namespace, whose ids a helper left outside
    maps to a uid of the worker's own, gives every layer; programs run, and as that uid (unsharing a user namespace
    changes no id: the worker stayed the host's root, owner of what it held, such as the host's /dev/null)."""
    script = "\n".join([
        "import json",
        "from pathlib import Path",
        "from arc25.sandbox import default_sandbox, execute, isolation",
        "print(execute('def task(img):\\n    return img + 1\\n', [[[1]]])[0].tolist())",
        "print(json.dumps(isolation().layers))",
        "pid = default_sandbox().worker_pids()[0]",
        "status = Path(f'/proc/{pid}/status').read_text()",
        "print(json.dumps([pid, status.split('Uid:')[1].split()[:4], status.split('Gid:')[1].split()[:4]]))",
    ])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(["setpriv", "--bounding-set=-sys_admin", sys.executable, "-c", script], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    output, layers, ids = proc.stdout.splitlines()
    layers = json.loads(layers)
    assert output == "[[2]]"
    pid, uids, gids = json.loads(ids)
    assert uids == gids == [str((1 << 30) + pid)] * 4, ids
    off = {name: state for name, state in layers.items() if not state.startswith("on")}
    assert off == {}, off
    assert "inside a user namespace" in layers["pid"] and layers["user"].startswith("on (root of its own user namespace")
    assert "sandbox isolation:" not in proc.stderr


@pytest.mark.slow
def test_benchmark_pairs_each_warm_round_with_in_process_exec(tmp_path):
    from conftest import run_script

    proc = run_script([sys.executable, "scripts/benchmark_sandbox.py", "--sizes", "24", "--layer-programs", "8",
                       "--repeats", "2", "--n-grids", "1", "--output-dir", str(tmp_path)], timeout=240)
    report = json.loads((tmp_path / "benchmark_sandbox.json").read_text())
    assert json.loads(proc.stdout) == report
    size = report["sizes"]["24"]
    assert size["ok"] == 24 and len(size["warm_vs_inprocess_rounds"]) == 2
    assert size["warm_vs_inprocess"] in size["warm_vs_inprocess_rounds"]
    assert size["inprocess_one_core_per_s"] > 0 and size["warm_per_s"] > 0 and size["pool_ready_s"] > 0
    assert set(report["layers_off"]) == {"none", "all", *OS_LAYERS}
    assert all(row["ok"] == 8 for row in report["layers_off"].values())
    breakdown = report["one_worker_per_program"]
    assert breakdown["programs"] == 8 and breakdown["page_faults_per_program_process"] > 0
