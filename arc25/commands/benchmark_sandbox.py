"""Sandbox throughput as JSON: generated programs x grids through the pool, cold and warm, beside in-process exec.

    arc25-benchmark-sandbox                                # 512 and 4096 programs x 4 grids, 2 workers
    arc25-benchmark-sandbox --sizes 512 --output-dir runs/bench

Prints one JSON object: programs/s of plain in-process exec on one core (the trusted path with a
cold compile cache), of a cold pool (start-up included) and of a warm pool on different programs of
the same kind, the pool's start-up time, and the same for each OS isolation layer switched off
("layers_off": "none" is every layer on, "all" is none), and with ``Sandbox(fresh="chunk")`` (one
process per chunk of programs on the same inputs instead of one per program: "fresh_chunk"), and
where one worker's CPU goes per program ("one_worker_per_program": its zygote, its template, the program
processes the template forks and their page faults). Each warm round is timed right after one core runs the same programs in-process, and the median of
--repeats rounds is reported with every round's ratio ("warm_vs_inprocess_rounds"). Wall-clock
rates depend on what else the machine runs; the CPU figures (parent and workers with their
zygotes and program processes, per program) do not, and "warm_vs_inprocess_by_cpu" is the ratio
the pool reaches when its cores are idle.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from arc25.cli import DEFAULT_RANDOM_SEED, CliConfig, parse


@dataclass
class Args(CliConfig):

    sizes: tuple[int, ...] = (512, 4096)
    """Batch sizes (programs per batch) to measure."""
    n_grids: int = 4
    """Input grids every program runs on."""
    min_side: int = 10
    """Smallest side of an input grid (sides are drawn uniformly from --min-side to --max-side)."""
    max_side: int = 30
    """Largest side of an input grid (ARC grids go up to 30)."""
    n_workers: int = 2
    """Sandbox worker processes (the CI machine has 2 cores)."""
    layer_programs: int = 512
    """Programs per measurement when comparing isolation layers."""
    repeats: int = 3
    """Warm rounds per size, each on new programs, each timed right after in-process exec of the same programs;
    the ratio reported is the median round's (one round is at the mercy of whatever else the machine runs)."""
    timeout_s: float = 1.0
    """Time limit per program, in seconds."""
    random_seed: int = DEFAULT_RANDOM_SEED
    """Seeds the generated programs and the input grids."""
    output_dir: str | None = None
    """If set, also write benchmark_sandbox.json there."""

    def validate(self) -> None:
        if not self.sizes or any(size < 1 for size in self.sizes):
            raise ValueError(f"--sizes must be positive integers, got {self.sizes}")
        for name in ("n_grids", "n_workers", "layer_programs", "repeats"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if not 1 <= self.min_side <= self.max_side <= 30:
            raise ValueError(f"need 1 <= --min-side <= --max-side <= 30, got {self.min_side} and {self.max_side}")
        if not self.timeout_s > 0:
            raise ValueError(f"--timeout-s must be positive, got {self.timeout_s}")


def generated_programs(n: int, seed: int) -> list[str]:
    from arc25.tasks import task_stream

    return [task.code for task in itertools.islice(task_stream(seed), n)]


def in_process_rate(programs: list[str], grids: list[np.ndarray]) -> tuple[float, float]:
    """(programs/s, CPU microseconds per program) of the trusted path, with a cold compile cache."""
    from arc25.programs import trusted
    from arc25.sandbox import ExecutionError

    trusted._compile.cache_clear()  # compile every program, as the sandbox does
    start, cpu = time.perf_counter(), time.process_time()
    for code in programs:
        try:
            trusted.execute_trusted(code, grids)
        except ExecutionError:
            pass
    return len(programs) / (time.perf_counter() - start), (time.process_time() - cpu) / len(programs) * 1e6


def workers_cpu_s(pids: list[int]) -> float:
    """CPU seconds the given workers have used so far, with their descendants (a worker is an outer process, its
    zygote, a template and one short-lived process per program, which the zygote reaps: its cutime/cstime); 0 for one that is gone."""
    total = 0
    pending = list(pids)
    while pending:
        pid = pending.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])  # utime stime cutime cstime
        pending += [int(child) for child in children]
    return total / os.sysconf("SC_CLK_TCK")


def _warm_run(pool, programs: list[str], grids, timeout_s: float) -> tuple[float, float, list]:
    """(programs/s, CPU microseconds per program of parent and workers together, results) of one warm batch."""
    pids = pool.worker_pids()
    start, cpu, workers_cpu = time.perf_counter(), time.process_time(), workers_cpu_s(pids)
    results = pool.execute_batch(programs, grids, timeout_s=timeout_s)
    seconds = time.perf_counter() - start
    cpu_us = (time.process_time() - cpu + workers_cpu_s(pids) - workers_cpu) / len(programs) * 1e6
    return len(programs) / seconds, cpu_us, results


def pool_rates(cold: list[str], rounds: list[list[str]], grids, cfg: Args, layers, fresh: str = "program") -> dict:
    """Cold: a new pool runs ``cold`` (start-up included). Warm: the same pool then runs each round's programs,
    each right after one core runs them in-process; the median round's figures are reported."""
    from arc25.sandbox import Sandbox

    start = time.perf_counter()
    paired = []
    with Sandbox(cfg.n_workers, layers=layers, fresh=fresh) as pool:
        pool.execute_batch(cold, grids, timeout_s=cfg.timeout_s)
        cold_s = time.perf_counter() - start
        for programs in rounds:
            inprocess, inprocess_cpu_us = in_process_rate(programs, grids)
            warm, cpu_us, results = _warm_run(pool, programs, grids, cfg.timeout_s)
            paired.append({"inprocess": inprocess, "inprocess_cpu_us": inprocess_cpu_us, "warm": warm,
                           "cpu_us": cpu_us, "ok": sum(isinstance(r, list) for r in results)})
        report = pool.isolation()
    with Sandbox(cfg.n_workers, layers=layers, fresh=fresh) as pool:
        start = time.perf_counter()
        pool.execute_batch(["def task(img):\n    return img\n"] * cfg.n_workers, grids, timeout_s=cfg.timeout_s)
        ready_s = time.perf_counter() - start
    ratios = [p["warm"] / p["inprocess"] for p in paired]
    median = paired[sorted(range(len(paired)), key=ratios.__getitem__)[len(paired) // 2]]
    return {
        "inprocess_one_core_per_s": round(median["inprocess"], 1),
        "inprocess_cpu_us_per_program": round(median["inprocess_cpu_us"], 1),
        "cold_per_s": round(len(cold) / cold_s, 1),
        "warm_per_s": round(median["warm"], 1),
        "warm_cpu_us_per_program": round(median["cpu_us"], 1),  # parent and workers together: independent of other load
        "pool_ready_s": round(ready_s, 3),
        "ok": median["ok"],
        "warm_vs_inprocess": round(median["warm"] / median["inprocess"], 2),
        # What the warm pool would do on idle cores: n_workers cores' worth of CPU per program.
        "warm_vs_inprocess_by_cpu": round(cfg.n_workers * median["inprocess_cpu_us"] / median["cpu_us"], 2),
        "warm_vs_inprocess_rounds": [round(r, 2) for r in ratios],
        "isolation": report.summary(),
    }


def _zygote_counters(outer_pid: int) -> tuple[float, float, int, float]:
    """(zygote CPU s, CPU s of the program processes it reaped, their page faults, template CPU s) of one worker.
    The template, which forks the program processes, is the zygote's oldest child (started before any program)."""
    zygote = int(Path(f"/proc/{outer_pid}/task/{outer_pid}/children").read_text().split()[0])
    fields = Path(f"/proc/{zygote}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    children = sorted(int(pid) for pid in Path(f"/proc/{zygote}/task/{zygote}/children").read_text().split())
    template_s = 0.0
    if children:
        template = Path(f"/proc/{children[0]}/stat").read_text().rsplit(")", 1)[1].split()
        template_s = (int(template[11]) + int(template[12])) / tick
    return ((int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick, int(fields[8]),
            template_s)


def per_program_breakdown(programs: list[str], grids, cfg: Args) -> dict:
    """Where one warm worker's CPU goes per program: its zygote (relays jobs and replies), its template (forks) and
    the program processes (copy-on-write faults, reading, checking and compiling their job, the program, exit), with
    the faults of those processes."""
    from arc25.sandbox import Sandbox

    with Sandbox(1) as pool:
        pool.execute_batch(["def task(img):\n    return img\n"], grids, timeout_s=cfg.timeout_s)
        outer = pool.worker_pids()[0]
        zygote_s, children_s, faults, template_s = _zygote_counters(outer)
        pool.execute_batch(programs, grids, timeout_s=cfg.timeout_s)
        zygote_after, children_after, faults_after, template_after = _zygote_counters(outer)
    n = len(programs)
    return {
        "programs": n,
        "zygote_cpu_us": round((zygote_after - zygote_s) / n * 1e6, 1),
        "template_cpu_us": round((template_after - template_s) / n * 1e6, 1),
        "program_processes_cpu_us": round((children_after - children_s) / n * 1e6, 1),
        "page_faults_per_program_process": round((faults_after - faults) / n, 1),
    }


def measure(cfg: Args) -> dict:
    from arc25.sandbox.confinement import OS_LAYERS

    rng = np.random.default_rng(cfg.random_seed)
    sides = rng.integers(cfg.min_side, cfg.max_side + 1, size=(cfg.n_grids, 2))
    grids = [rng.integers(0, 10, size=(int(rows), int(cols))) for rows, cols in sides]
    largest = max(max(cfg.sizes), cfg.layer_programs)
    pool_programs = generated_programs((1 + cfg.repeats) * largest, cfg.random_seed)
    random.Random(cfg.random_seed).shuffle(pool_programs)
    # Programs of cold and of each warm round are distinct: the workers cache compiled code by source.
    cold_all = pool_programs[:largest]
    rounds_all = [pool_programs[(1 + r) * largest : (2 + r) * largest] for r in range(cfg.repeats)]
    out = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": sys.platform,
                    "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
                    "uid": os.geteuid() if hasattr(os, "geteuid") else None},
        "n_grids": cfg.n_grids,
        "grid_shapes": [list(grid.shape) for grid in grids],
        "n_workers": cfg.n_workers,
        "repeats": cfg.repeats,
        "sizes": {},
        "layers_off": {},
    }
    for size in cfg.sizes:
        rates = pool_rates(cold_all[:size], [programs[:size] for programs in rounds_all], grids, cfg, OS_LAYERS)
        out["isolation"] = rates.pop("isolation")
        out["sizes"][str(size)] = rates
    # The same programs with one process per chunk of programs on the same inputs instead of one per program.
    first = cfg.sizes[0]
    rates = pool_rates(cold_all[:first], [programs[:first] for programs in rounds_all], grids, cfg, OS_LAYERS, "chunk")
    rates.pop("isolation")
    out["fresh_chunk"] = {str(first): rates}
    n = cfg.layer_programs
    configurations = [("none", OS_LAYERS)] + [(name, tuple(x for x in OS_LAYERS if x != name)) for name in OS_LAYERS]
    for label, layers in configurations + [("all", ())]:
        rates = pool_rates(cold_all[:n], [rounds_all[0][:n]], grids, cfg, layers)
        rates.pop("isolation")
        out["layers_off"][label] = rates
    out["one_worker_per_program"] = per_program_breakdown(rounds_all[0][:n], grids, cfg)
    out["load_average"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    return out


def main(args: Args) -> None:
    text = json.dumps(measure(args), indent=2)
    print(text)
    if args.output_dir:
        path = Path(args.output_dir)
        path.mkdir(parents=True, exist_ok=True)
        (path / "benchmark_sandbox.json").write_text(text + "\n")


def cli(argv: list[str] | None = None) -> None:
    """arc25-benchmark-sandbox: bad input exits 2 with one line."""
    main(parse(Args, argv, description=__doc__))


if __name__ == "__main__":
    cli()
