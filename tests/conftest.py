"""Shared helpers: run repo scripts as a user would, offline, with a hard timeout."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def script_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{env.get('PYTHONPATH', '')}"
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1", WANDB_MODE="offline",
               TOKENIZERS_PARALLELISM="false", OMP_NUM_THREADS="1")
    return env


def run_script(args: list[str], timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``args`` (a command line) from the repo root; fail the test with its output if it fails or hangs."""
    try:
        proc = subprocess.run(args, cwd=ROOT, env=script_env(), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"{' '.join(args)} hung for {timeout}s:\n{(err.stderr or b'')[-3000:]}")
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return proc


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """Tiny models gain nothing from intra-op threads, and on a busy 2-core box their spin-waits cost seconds."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def python():
    return sys.executable


# One short seeded training of the builtin tiny model on CPU: evaluations at steps 2 and 4 (class losses over one
# eval batch of 6 tasks, long enough that none is skipped), a log line per step, throughput against a stand-in peak;
# no solve rate (its greedy decoding would cost more than the training).
TINY_RUN = dict(
    max_steps=4, batch_size=2, per_device_train_batch_size=2, eval_steps=2, n_eval_tasks=6,
    per_device_eval_batch_size=6, max_side=12, max_seq_len=4096, logging_steps=1, save_steps=100, peak_tflops=1.0,
    solve_rate_steps=1000, n_solve_rate_tasks=1, log_to_wandb=False, dataloader_num_workers=0,
)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """``tiny_run(packing=False)`` trains TINY_RUN once per session and variant; tests only read what it wrote.

    Returns a namespace with ``cfg`` (the finetuning.Config), ``out`` (its output folder) and ``metrics`` (what
    ``finetuning.main`` returned). Tests that need other settings start their own run.
    """
    from types import SimpleNamespace

    runs = {}

    def run(packing: bool = False) -> SimpleNamespace:
        if packing not in runs:
            import finetuning

            out = tmp_path_factory.mktemp("tiny-packed" if packing else "tiny-padded")
            cfg = finetuning.Config(output_dir=str(out), packing=packing, **TINY_RUN)
            runs[packing] = SimpleNamespace(cfg=cfg, out=out, metrics=finetuning.main(cfg))
        return runs[packing]

    return run
