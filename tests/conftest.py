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
