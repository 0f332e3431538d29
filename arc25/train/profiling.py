"""Where a training step's time goes: torch.profiler over a few optimizer steps, summed up per step.

``--profile-steps N`` (finetuning.py) profiles N steps once the first ``--throughput-skip-steps`` (start-up,
autotuning, compilation) and one profiler warm-up step are over, on the main process only, and writes
``<output-dir>/profile/``:

- ``summary.json``: wall ms per step, kernel (device) ms per step and their ratio, the host-device syncs and
  scalar reads (``.item()``) per step, the host ops with the most self time and the kernels with the most time;
- ``ops.txt``: torch's per-op tables (by self CPU time, and by device time where there is a device);
- ``trace.json``: a Chrome trace (chrome://tracing or ui.perfetto.dev).

A GPU that is busy for a small part of each step's wall time points at host-side overhead (Python, kernel
launches, syncs, data) rather than at the kernels. The profiled steps run slower than the others; the
throughput figures include them, so measure speed in runs without the profiler.

``environment`` describes the machine a figure was measured on: versions, the device and its measured matmul
rate (the realistic denominator of an MFU).
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

from transformers import TrainerCallback

__all__ = ["StepProfiler", "environment", "matmul_tflops", "summarize_profile"]

# Packages whose versions a speed figure depends on.
VERSIONED = ("transformers", "trl", "peft", "accelerate", "datasets", "liger_kernel", "triton")

# Runtime calls where the host waits for the device (a .item() of a GPU tensor ends in one): the queue of launched
# kernels drains and the GPU idles until the host launches again.
SYNC_OPS = ("cudaStreamSynchronize", "cudaDeviceSynchronize", "cudaEventSynchronize")
# A Python scalar read from a tensor (.item(), bool(), float()): a sync when the tensor lives on the GPU.
SCALAR_READ = "aten::_local_scalar_dense"


def _device_us(average) -> float:
    # The attribute was called self_cuda_time_total before torch 2.4.
    return float(getattr(average, "self_device_time_total", getattr(average, "self_cuda_time_total", 0.0)) or 0.0)


def _is_kernel(average) -> bool:
    """A device-side event (kernel, memcpy, memset), not a host op nor a device-side user annotation."""
    from torch.autograd import DeviceType

    return average.device_type != DeviceType.CPU and not getattr(average, "is_user_annotation", False)


def summarize_profile(averages, n_steps: int, step_seconds: list[float], top: int = 12) -> dict:
    """A per-step summary of a profiler's ``key_averages()``: wall vs kernel time, syncs, the heaviest ops."""
    n = max(n_steps, 1)
    rows = list(averages)
    kernels = sorted((a for a in rows if _is_kernel(a)), key=_device_us, reverse=True)
    host = sorted((a for a in rows if not _is_kernel(a)), key=lambda a: a.self_cpu_time_total, reverse=True)
    wall_ms = 1000 * sum(step_seconds) / len(step_seconds) if step_seconds else None
    kernel_ms = sum(_device_us(a) for a in kernels) / 1000 / n
    return {
        "steps_profiled": n_steps,
        "step_wall_ms": round(wall_ms, 2) if wall_ms is not None else None,
        "kernel_ms_per_step": round(kernel_ms, 2),
        "device_busy_fraction": round(kernel_ms / wall_ms, 4) if wall_ms and kernels else None,
        "kernels_per_step": round(sum(a.count for a in kernels) / n, 1),
        "syncs_per_step": round(sum(a.count for a in host if a.key in SYNC_OPS) / n, 1),
        "scalar_reads_per_step": round(sum(a.count for a in host if a.key == SCALAR_READ) / n, 1),
        "top_host_ops": [{"name": a.key, "self_cpu_ms_per_step": round(a.self_cpu_time_total / 1000 / n, 3),
                          "calls_per_step": round(a.count / n, 1)} for a in host[:top]],
        "top_device_ops": [{"name": a.key[:120], "device_ms_per_step": round(_device_us(a) / 1000 / n, 3),
                            "calls_per_step": round(a.count / n, 1)} for a in kernels[:top]],
    }


class StepProfiler(TrainerCallback):
    """Profiles ``n_steps`` optimizer steps after ``skip_steps`` (+1 warm-up) on the main process; see the module."""

    def __init__(self, output_dir: str | Path, n_steps: int, skip_steps: int = 1):
        if n_steps < 1:
            raise ValueError(f"n_steps must be >= 1, got {n_steps}")
        if skip_steps < 0:
            raise ValueError(f"skip_steps must be >= 0, got {skip_steps}")
        self.folder = Path(output_dir) / "profile"
        self.n_steps, self.skip_steps = n_steps, skip_steps
        self.profiler = None
        self.summary: dict | None = None
        self.step_seconds: list[float] = []
        self._calls = 0  # profiler.step() calls: the first ends the warm-up step, the rest end recorded steps
        self._last = 0.0

    @property
    def running(self) -> bool:
        return self.profiler is not None and self.summary is None

    def on_step_end(self, args, state, control, **kwargs):
        if not state.is_world_process_zero or self.summary is not None:
            return
        now = time.perf_counter()
        if self.profiler is None:
            if state.global_step >= self.skip_steps:
                self._start()
                self._last = now
            return
        if self._calls >= 1:
            self.step_seconds.append(now - self._last)
        self._last = now
        self._calls += 1
        self.profiler.step()  # after the last recorded step this writes the files (on_trace_ready)

    def on_train_end(self, args, state, control, **kwargs):
        if self.running:
            self.profiler.stop()  # a run that ended early: what was recorded is still written

    def _start(self) -> None:
        import torch
        from torch.profiler import ProfilerActivity, profile, schedule

        activities = [ProfilerActivity.CPU]
        if torch.cuda.is_available():
            activities.append(ProfilerActivity.CUDA)
        self.profiler = profile(activities=activities,
                                schedule=schedule(wait=0, warmup=1, active=self.n_steps, repeat=1),
                                on_trace_ready=self._write)
        self.profiler.start()

    def _write(self, profiler) -> None:
        averages = profiler.key_averages()
        self.summary = summarize_profile(averages, len(self.step_seconds), self.step_seconds)
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "summary.json").write_text(json.dumps(self.summary, indent=2))
        tables = ["# by self CPU time", averages.table(sort_by="self_cpu_time_total", row_limit=40)]
        if any(_is_kernel(a) for a in averages):
            tables += ["# by self device time", averages.table(sort_by="self_device_time_total", row_limit=40)]
        (self.folder / "ops.txt").write_text("\n\n".join(tables) + "\n")
        profiler.export_chrome_trace(str(self.folder / "trace.json"))


def matmul_tflops(seed: int, seconds: float | None = None) -> tuple[float, str]:
    """Measured TFLOP/s of a square matmul (bf16 8192^3 on CUDA, fp32 512^3 on CPU) and what was multiplied."""
    import torch

    cuda = torch.cuda.is_available()
    n, dtype, device = (8192, torch.bfloat16, "cuda") if cuda else (512, torch.float32, "cpu")
    generator = torch.Generator(device=device).manual_seed(seed)
    a = torch.randn(n, n, device=device, dtype=dtype, generator=generator)
    b = torch.randn(n, n, device=device, dtype=dtype, generator=generator)
    for _ in range(3):
        a @ b
    if cuda:
        torch.cuda.synchronize()
    repeats, started = 0, time.perf_counter()
    while time.perf_counter() - started < (seconds or (2.0 if cuda else 0.5)):
        a @ b
        repeats += 1
        if cuda and repeats % 10 == 0:
            torch.cuda.synchronize()
    if cuda:
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - started
    del a, b
    if cuda:
        torch.cuda.empty_cache()
    # Three significant figures: a busy CPU manages well under 0.1 TFLOP/s, which one decimal would call 0.
    return float(f"{2 * n**3 * repeats / elapsed / 1e12:.3g}"), f"{n}^3 {str(dtype).removeprefix('torch.')}"


def environment(seed: int) -> dict:
    """Versions (a package that is not installed: "missing"), the device, and its measured matmul TFLOP/s."""
    import importlib

    import torch

    env = {"python": platform.python_version(), "torch": torch.__version__}
    for name in VERSIONED:
        try:
            env[name] = getattr(importlib.import_module(name), "__version__", "installed")
        except ImportError:
            env[name] = "missing"
    cuda = torch.cuda.is_available()
    env["device"] = torch.cuda.get_device_name(0) if cuda else f"cpu ({os.cpu_count()} cores)"
    if cuda:
        env["gpu_memory_gib"] = round(torch.cuda.get_device_properties(0).total_memory / 1024**3, 1)
        env["cuda"] = torch.version.cuda
    env["matmul_tflops"], env["matmul"] = matmul_tflops(seed)
    return env
