"""Run a training command as a time-boxed child and say how it ended: shared by the sweep, the GPU report and the
learning ladder."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["OOM_MARKERS", "classify", "finetuning_command", "free_port", "run_logged", "thread_env"]

OOM_MARKERS = ("OutOfMemoryError", "CUDA out of memory", "out of memory", "CUBLAS_STATUS_ALLOC_FAILED")


def run_logged(command: list[str], log_path: Path, timeout_s: float, *, cwd=None,
               env: dict | None = None) -> tuple[int | None, bool, float]:
    """Run ``command`` in its own process group, output to ``log_path``; (return code, timed out, seconds)."""
    env = dict(os.environ if env is None else env, TOKENIZERS_PARALLELISM="false", PYTHONUNBUFFERED="1")
    started = time.perf_counter()
    with open(log_path, "w") as log:
        log.write(" ".join(command) + "\n")
        log.flush()
        # A session of its own, so a timeout kills the launcher, every rank and every data worker together.
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            rc, timed_out = proc.wait(timeout=max(timeout_s, 1.0)), False
        except subprocess.TimeoutExpired:
            timed_out = True
            rc = _stop_group(proc)
        except BaseException:
            # Ctrl-C or a signal turned into an exception in the caller: its own session would keep the child
            # running, holding the GPU and skewing whatever is measured next.
            _stop_group(proc)
            raise
    return rc, timed_out, time.perf_counter() - started


def _stop_group(proc: subprocess.Popen) -> int | None:
    """SIGTERM the child's process group, SIGKILL it after 30 s; the child's return code."""
    for sig, wait_s in ((signal.SIGTERM, 30), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            return proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue
    return proc.returncode


def classify(returncode: int | None, timed_out: bool, log_text: str, have_summary: bool) -> tuple[str, str]:
    """(status, error line) of a finished run: ok, timeout, oom, error or no_summary."""
    if timed_out:
        return "timeout", ""
    if returncode == 0 and have_summary:
        return "ok", ""
    tail = log_text[-20000:]
    if any(marker in tail for marker in OOM_MARKERS):
        return "oom", next((l for l in reversed(tail.splitlines()) if any(m in l for m in OOM_MARKERS)), "")[:300]
    lines = [l.strip() for l in tail.splitlines() if l.strip()]
    error = next((l for l in reversed(lines) if "Error" in l or l.startswith("error:")), lines[-1] if lines else "")
    return ("error" if returncode != 0 else "no_summary"), error[:300]


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on now: a launch's rendezvous port that cannot meet an earlier
    launch's lingering one."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def finetuning_command(n_processes: int, launcher: str = "accelerate", port: int | None = None) -> list[str]:
    """How to start finetuning.py with ``n_processes`` ranks on this machine (plain python for one); ``port``: the
    rendezvous port (default: the launcher's own, which two launches at once would share)."""
    import finetuning

    script = str(Path(finetuning.__file__).resolve())
    if n_processes == 1:
        return [sys.executable, script]
    if launcher == "accelerate":
        # On a machine without CUDA the ranks still form a group: arc25.train.distributed makes it a gloo one.
        port_flags = [] if port is None else ["--main_process_port", str(port)]
        return [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(n_processes),
                "--num_machines", "1", "--multi_gpu", *port_flags, script]
    port_flags = ["--standalone"] if port is None else ["--master_addr", "127.0.0.1", "--master_port", str(port)]
    return [sys.executable, "-m", "torch.distributed.run", *port_flags, "--nproc_per_node", str(n_processes),
            script]


def thread_env(n_processes: int, env: dict | None = None) -> dict:
    """``env`` (default: this process's) with the CPU threads split between ``n_processes`` ranks: the
    OMP_NUM_THREADS it has, else every core, divided (at least one each), so ranks do not fight for cores."""
    env = dict(os.environ if env is None else env)
    total = int(env.get("OMP_NUM_THREADS") or os.cpu_count() or 1)
    env["OMP_NUM_THREADS"] = str(max(1, total // n_processes))
    return env
