"""Beyond one process group on one box: launches finetuning.py must refuse (FSDP1 on CPU, a world the ranks
disagree on), FSDP2 sharding two CPU ranks for real, two simulated nodes on 127.0.0.1, and the SLURM script's
per-node commands."""

import importlib.util
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import ROOT, run_script, script_env

import finetuning
from arc25.train.run import find_checkpoint
from arc25.commands.launch import free_port

TINY_RUN = ["--max-side", "6", "--max-seq-len", "1024", "--batch-size", "4", "--per-device-train-batch-size", "2",
            "--no-log-to-wandb", "--eval-steps", "0", "--dataloader-num-workers", "1"]
LAUNCH_ENV_NAMES = ("ACCELERATE_USE_FSDP", "FSDP_VERSION", "ACCELERATE_USE_DEEPSPEED", "WORLD_SIZE", "RANK", "MASTER_ADDR",
                    "MASTER_PORT", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")


@pytest.fixture
def launch_env(monkeypatch):
    """A clean slate of launcher variables, and a tokenizer that must not load: every refusal comes first."""
    for name in LAUNCH_ENV_NAMES:
        monkeypatch.delenv(name, raising=False)

    def no_model(*args, **kwargs):
        raise AssertionError("the launch should have been refused before anything loads")

    monkeypatch.setattr("arc25.models.loading.prepare", no_model)
    return monkeypatch


def _config(out: Path) -> finetuning.Config:
    return finetuning.Config(output_dir=str(out), max_side=6, max_seq_len=1024, log_to_wandb=False)


@pytest.mark.skipif(torch.cuda.is_available(), reason="the refusal is for CPU launches")
@pytest.mark.parametrize("version", [None, "1"], ids=["accelerate-default", "fsdp_version-1"])
def test_fsdp1_on_cpu_is_refused_before_loading(tmp_path, launch_env, version):
    launch_env.setenv("ACCELERATE_USE_FSDP", "true")
    if version is None:
        launch_env.delenv("FSDP_VERSION", raising=False)
    else:
        launch_env.setenv("FSDP_VERSION", version)
    with pytest.raises(ValueError, match=r"fsdp_version 1 on CPU: only FSDP2 shards CPU ranks; set fsdp_version: 2"):
        finetuning.prepare(_config(tmp_path))


def test_deepspeed_without_the_package_is_refused(tmp_path, launch_env):
    if importlib.util.find_spec("deepspeed") is not None:
        pytest.skip("deepspeed is installed here")
    launch_env.setenv("ACCELERATE_USE_DEEPSPEED", "true")
    with pytest.raises(ValueError, match=re.escape("pip install 'arc25[deepspeed]'")):
        finetuning.prepare(_config(tmp_path))


@pytest.mark.parametrize("env, message", [
    ({"WORLD_SIZE": "2"}, "WORLD_SIZE=2 but RANK, MASTER_ADDR, MASTER_PORT unset"),
    ({"OMPI_COMM_WORLD_SIZE": "2"}, "OMPI_COMM_WORLD_SIZE=2 but WORLD_SIZE says 1"),
], ids=["world-size-without-launcher", "mpi-world-without-world-size"])
def test_a_world_the_ranks_cannot_agree_on_is_refused(tmp_path, launch_env, env, message):
    """Trained on anyway, the first would wait for ranks that never come, the second would give every rank
    rank 0's shards of the stream."""
    for name, value in env.items():
        launch_env.setenv(name, value)
    with pytest.raises(ValueError, match=re.escape(message)):
        finetuning.prepare(_config(tmp_path))


def test_ddp_timeout_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="--ddp-timeout must be >= 1, got 0"):
        finetuning.Config(output_dir=str(tmp_path), ddp_timeout=0).validate()


# --- SLURM: the batch script's per-node commands, rendered with fake srun, scontrol and accelerate ---

def _fake_tool(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text("#!/bin/bash\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def _render_sbatch(tmp_path: Path, args: list[str], nodes: int = 2) -> subprocess.CompletedProcess:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    # srun: one task per node, each with its own SLURM_NODEID, as SLURM runs them.
    _fake_tool(bin_dir, "srun", 'while [[ "$1" == --* ]]; do shift; done\n'
                                'for ((i = 0; i < SLURM_NNODES; i++)); do SLURM_NODEID=$i "$@" || exit; done\n')
    _fake_tool(bin_dir, "scontrol", 'printf "gpu-node-07\\ngpu-node-08\\n"\n')
    _fake_tool(bin_dir, "accelerate", 'printf "%s\\x1f" "$@"; echo\n')
    env = dict(script_env(), PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", SLURM_NNODES=str(nodes),
               SLURM_JOB_NODELIST="gpu-node-[07-08]", GPUS_PER_NODE="4", MAIN_PORT="29611")
    return subprocess.run(["bash", str(ROOT / "configs" / "slurm_multi_node.sbatch"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_a_cpu_rank_resumes_an_optimizer_mapped_to_its_indexed_device(tmp_path):
    """accelerate's CPU ranks run on ``cpu:0``, and transformers 5.17 (the GPU box's) loads a resumed optimizer with
    ``map_location`` set to it: torch alone refuses that location; with arc25.models.compat's branch it loads to the CPU."""
    code = f"""
import torch
from arc25.models import compat
path = {str(tmp_path / "optimizer.pt")!r}
torch.save({{"state": {{0: {{"exp_avg": torch.arange(4.0)}}}}}}, path)
try:
    torch.load(path, map_location="cpu:0", weights_only=True)
    print("torch alone loaded it")
except RuntimeError as err:
    print("torch alone:", err)
compat.restore_indexed_cpu_storage()
compat.restore_indexed_cpu_storage()
loaded = torch.load(path, map_location="cpu:0", weights_only=True)["state"][0]["exp_avg"]
assert loaded.device.type == "cpu" and loaded.tolist() == [0.0, 1.0, 2.0, 3.0]
print("loaded")
"""
    # A fresh interpreter: torch's location registry is per process, and this one may have run a resume already.
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "torch alone: don't know how to restore data location" in proc.stdout and "loaded" in proc.stdout


def test_slurm_script_starts_one_launch_per_node_with_its_rank(tmp_path):
    flags = ["--output-dir", "/shared/runs/my run", "--n-gpus", "8", "--batch-size", "64"]
    proc = _render_sbatch(tmp_path, flags)
    assert proc.returncode == 0, proc.stderr
    commands = [line.rstrip("\x1f").split("\x1f") for line in proc.stdout.splitlines()]
    assert len(commands) == 2
    for node, argv in enumerate(commands):
        script = argv.index("finetuning.py")
        launch = dict(zip(argv[1:script:2], argv[2:script:2]))
        assert argv[0] == "launch" and launch == {
            "--config_file": "configs/multi_node.yaml", "--num_machines": "2", "--num_processes": "8",
            "--machine_rank": str(node), "--main_process_ip": "gpu-node-07", "--main_process_port": "29611"}
        assert argv[script + 1:] == flags, "finetuning.py's flags must arrive unsplit and in order"
    assert (ROOT / "configs" / "multi_node.yaml").is_file()


def test_slurm_script_without_flags_says_how_to_call_it(tmp_path):
    proc = _render_sbatch(tmp_path, [])
    assert proc.returncode == 2 and "usage: sbatch" in proc.stderr and not proc.stdout


# --- launches (slow): FSDP refused through accelerate, two simulated nodes ---

def _fsdp_launch(python: str, out: Path, *args: str) -> list[str]:
    """configs/fsdp.yaml as shipped, on the 2 CPU ranks of its header's CPU command."""
    return [python, "-m", "accelerate.commands.launch", "--config_file", "configs/fsdp.yaml",
            "--num_processes", "2", "--mixed_precision", "no", "--main_process_port", str(free_port()),
            "finetuning.py", "--output-dir", str(out), *TINY_RUN, *args]


def _kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL a launcher and every process under it (torchrun puts its ranks in sessions of their own)."""
    import psutil

    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    for member in [*family, proc]:
        try:
            member.kill()
        except (psutil.NoSuchProcess, ProcessLookupError):
            pass
    proc.wait()


def _assert_evaluates(python: str, final: Path, out: Path) -> None:
    proc = run_script([python, "scripts/evaluate.py", "--model-path", str(final), "--task-set", "synthetic", "--n", "2",
                       "--max-side", "6", "--max-new-tokens", "16", "--n-samples", "1", "--output-dir", str(out),
                       "--no-progress"], timeout=240)
    assert json.loads((out / "summary.json").read_text())["totals"]["all"]["n_tasks"] == 2, proc.stdout


def _losses(out: Path) -> list[float]:
    return [e["loss"] for e in map(json.loads, (out / "log_history.jsonl").read_text().splitlines()) if "loss" in e]


@pytest.mark.slow
def test_fsdp_shards_cpu_ranks_resumes_after_kill_and_ends_with_a_plain_model(tmp_path, python):
    """configs/fsdp.yaml on 2 CPU ranks: each holds half the weights, checkpoints are torch.distributed.checkpoint
    shards, kill -9 mid-run resumes from the last complete one on fresh samples, and final/ is one plain model
    that evaluate loads."""
    from safetensors.torch import load_file

    from arc25 import models

    out = tmp_path / "fsdp"
    log = tmp_path / "first.log"
    with open(log, "w") as f:
        first = subprocess.Popen(_fsdp_launch(python, out, "--max-steps", "200", "--save-steps", "2", "--logging-steps", "1",
                                              "--dump-samples", "400"),
                                 cwd=ROOT, env=script_env(), stdout=f, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while not find_checkpoint(out) or find_checkpoint(out)[1] < 4:
            if time.monotonic() > deadline or first.poll() is not None:
                pytest.fail(f"no second checkpoint:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
    finally:
        _kill_tree(first)
    text = log.read_text()
    for rank in (0, 1):
        assert f"sharded: rank {rank} holds 535,872 of 1,071,744 parameter values (50.0%)" in text, text[-3000:]
    checkpoint, step = find_checkpoint(out)
    shards = checkpoint / "pytorch_model_fsdp_0"
    assert {p.name for p in shards.iterdir()} == {".metadata", "__0_0.distcp", "__1_0.distcp"}
    assert (checkpoint / "optimizer_0" / ".metadata").is_file() and not (checkpoint / "model.safetensors").exists()
    trained_first = {rank: {s["code"] for s in _dumped(out, rank)} for rank in (0, 1)}
    assert not trained_first[0] & trained_first[1], "the two ranks trained on the same samples"

    run_script(_fsdp_launch(python, out, "--max-steps", str(step + 2), "--save-steps", "2", "--logging-steps", "1",
                            "--dump-samples", "400"), timeout=300)
    assert json.loads((out / "cfg.json").read_text())["resume_step"] == step
    assert json.loads((out / "train_metrics.json").read_text())["global_step"] == step + 2
    for rank in (0, 1):
        again = {s["code"] for s in _dumped(out, rank) if s["run_start_step"] == step}
        assert again, f"rank {rank} dumped nothing after resuming"
        assert not again & (trained_first[0] | trained_first[1]), "the resumed run replayed samples"
    losses = _losses(out)
    assert len(losses) == step + 2 and losses[-1] < losses[0], losses

    tokenizer = models.load_tokenizer("tiny")
    expected = {name: tuple(p.shape) for name, p in models.load_model("tiny", tokenizer).state_dict().items()}
    saved = {name: tuple(t.shape) for name, t in load_file(out / "final" / "model.safetensors").items()}
    assert saved and all(expected[name] == shape for name, shape in saved.items()), "final/ lacks full weights"
    _assert_evaluates(python, out / "final", tmp_path / "eval")


@pytest.mark.slow
def test_fsdp_lora_measures_solve_rate_resumes_and_saves_an_adapter_that_merges(tmp_path, python):
    """LoRA under FSDP2 on CPU ranks, on --token-budget's packed rows: the solve rate generates with the sharded
    model on both ranks, a rerun resumes from the sharded checkpoint, and final/ is a plain adapter merge_lora
    takes."""
    from safetensors.torch import load_file

    from arc25 import models

    base = tmp_path / "base"
    tokenizer = models.load_tokenizer("tiny")
    models.load_model("tiny", tokenizer, seed=3).save_pretrained(str(base))
    tokenizer.save_pretrained(str(base))
    out = tmp_path / "lora"
    # The padding-free path too: one packed row per micro-batch (later flags win over TINY_RUN's).
    common = ["--model-path", str(base), "--save-steps", "2", "--token-budget", "2048",
              "--per-device-train-batch-size", "1"]
    first = run_script(_fsdp_launch(python, out, *common, "--max-steps", "2", "--solve-rate-steps", "2",
                                    "--n-solve-rate-tasks", "2"), timeout=400)
    assert "sharded: rank 1 holds 593,216 of 1,186,432 parameter values (50.0%)" in first.stdout + first.stderr
    state = json.loads((out / "checkpoint-2" / "trainer_state.json").read_text())
    (solve,) = [e for e in state["log_history"] if "eval_solve_rate" in e]
    assert solve["eval_solve_n_tasks"] == 2
    assert (out / "checkpoint-2" / "pytorch_model_fsdp_0" / ".metadata").is_file()

    run_script(_fsdp_launch(python, out, *common, "--max-steps", "4"), timeout=400)
    assert json.loads((out / "cfg.json").read_text())["resume_step"] == 2
    adapter = load_file(out / "final" / "adapter_model.safetensors")
    assert adapter and all("lora_" in name for name in adapter)
    assert any(name.endswith("lora_B.weight") and value.abs().sum() > 0 for name, value in adapter.items())
    run_script([python, "scripts/merge_lora.py", "--model-path", str(base), "--adapter-path", str(out / "final"),
                "--output-dir", str(tmp_path / "merged")], timeout=120)
    merged = load_file(tmp_path / "merged" / "model.safetensors")
    base_weights = load_file(base / "model.safetensors")
    assert any(not torch.equal(merged[name], base_weights[name]) for name in base_weights), "nothing merged"


class Nodes:
    """Two accelerate launches of configs/multi_node.yaml on 127.0.0.1 (machine_rank 0 and 1, one CPU process
    each), every process they start tracked so the test can end them by pid, whatever happens."""

    def __init__(self, tmp_path: Path, python: str, out_dirs: list[Path], args: list[str], tag: str):
        port = free_port()
        self.logs = [tmp_path / f"{tag}-node{rank}.log" for rank in (0, 1)]
        self.procs = []
        for rank, (out, log) in enumerate(zip(out_dirs, self.logs)):
            command = [python, "-m", "accelerate.commands.launch", "--config_file", "configs/multi_node.yaml",
                       "--num_processes", "2", "--machine_rank", str(rank), "--main_process_ip", "127.0.0.1",
                       "--main_process_port", str(port), "--mixed_precision", "no",
                       "finetuning.py", "--output-dir", str(out), *TINY_RUN, *args]
            with open(log, "w") as f:
                self.procs.append(subprocess.Popen(command, cwd=ROOT, env=script_env(), stdout=f,
                                                   stderr=subprocess.STDOUT, start_new_session=True))
        self.seen: set = set()

    def rank_process(self, node: int):
        """The training process of ``node`` (torchrun starts it in a session of its own)."""
        import psutil

        for child in psutil.Process(self.procs[node].pid).children(recursive=True):
            command, parent = " ".join(child.cmdline()), " ".join(child.parent().cmdline())
            # The rank, not the launcher above it nor its data worker below.
            if "finetuning.py" in command and "accelerate" not in command and "accelerate" in parent:
                return child
        raise AssertionError(f"node {node} has no training process")

    def track(self) -> None:
        import psutil

        for proc in self.procs:
            try:
                self.seen.update(psutil.Process(proc.pid).children(recursive=True))
            except psutil.NoSuchProcess:
                pass

    def wait(self, timeout: float) -> list[int]:
        deadline = time.monotonic() + timeout
        codes = []
        for proc in self.procs:
            try:
                codes.append(proc.wait(timeout=max(deadline - time.monotonic(), 1)))
            except subprocess.TimeoutExpired:
                self.stop()
                pytest.fail(f"the nodes did not end within {timeout}s:\n{self.tail()}")
        return codes

    def log_text(self, node: int) -> str:
        return self.logs[node].read_text(errors="replace")

    def tail(self) -> str:
        return "\n".join(f"--- node {n}:\n{self.log_text(n)[-3000:]}" for n in (0, 1))

    def stop(self) -> None:
        self.track()
        for proc in [*self.seen, *self.procs]:
            try:
                proc.send_signal(signal.SIGCONT)
                proc.kill()
            except Exception:  # already gone
                pass
        for proc in self.procs:
            proc.wait()


def run_nodes(tmp_path, python, out_dirs, args, tag, timeout=300) -> tuple[list[int], Nodes]:
    nodes = Nodes(tmp_path, python, out_dirs, args, tag)
    try:
        return nodes.wait(timeout), nodes
    finally:
        nodes.stop()


def _dumped(out: Path, rank: int) -> list[dict]:
    return [json.loads(line) for line in (out / "samples" / f"rank{rank}.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_two_nodes_read_disjoint_shards_save_once_and_resume_together(tmp_path, python):
    out = tmp_path / "shared"
    codes, nodes = run_nodes(tmp_path, python, [out, out], ["--max-steps", "2", "--save-steps", "2",
                                                            "--dump-samples", "8"], "first")
    assert codes == [0, 0], nodes.tail()
    assert json.loads((out / "cfg.json").read_text())["world_size"] == 2
    first = {rank: _dumped(out, rank) for rank in (0, 1)}
    assert all(s["rank"] == rank for rank in (0, 1) for s in first[rank])
    codes_by_rank = [{s["code"] for s in first[rank]} for rank in (0, 1)]
    assert not codes_by_rank[0] & codes_by_rank[1], "the two nodes trained on the same samples"
    assert (out / "checkpoint-2" / "model.safetensors").is_file()

    codes, nodes = run_nodes(tmp_path, python, [out, out], ["--max-steps", "4", "--save-steps", "2",
                                                            "--dump-samples", "8"], "resumed")
    assert codes == [0, 0], nodes.tail()
    resolved = json.loads((out / "cfg.json").read_text())
    assert resolved["resume_step"] == 2 and resolved["world_size"] == 2
    assert json.loads((out / "train_metrics.json").read_text())["global_step"] == 4
    for rank in (0, 1):
        again = [s for s in _dumped(out, rank) if s["run_start_step"] == 2]
        assert again, f"rank {rank} dumped nothing after resuming"
        assert not {s["code"] for s in again} & {s["code"] for s in first[rank]}, "resume replayed samples"


@pytest.mark.slow
def test_nodes_with_their_own_output_dirs_save_once_then_refuse_to_resume_apart(tmp_path, python):
    """Checkpoints are written by global rank 0 alone, so a node whose folder is not shared holds none of the
    weights, and a relaunch would resume rank 0 and restart rank 1: refused instead."""
    dirs = [tmp_path / "node0", tmp_path / "node1"]
    codes, nodes = run_nodes(tmp_path, python, dirs, ["--max-steps", "2", "--save-steps", "2"], "apart")
    assert codes == [0, 0], nodes.tail()
    assert (dirs[0] / "checkpoint-2" / "model.safetensors").is_file()
    assert not list(dirs[1].rglob("*.safetensors")), "only global rank 0 writes weights"

    codes, nodes = run_nodes(tmp_path, python, dirs, ["--max-steps", "4", "--save-steps", "2"], "apart-again")
    assert codes[0] != 0 and codes[1] != 0
    assert "ranks would resume from different steps [2, 0]" in nodes.log_text(0) + nodes.log_text(1)
    assert not (dirs[0] / "checkpoint-4").exists()


@pytest.mark.slow
@pytest.mark.parametrize("how, seen", [
    (signal.SIGKILL, r"Connection reset by peer|Connection closed by peer"),
    (signal.SIGSTOP, r"Timed out waiting 10000ms"),
], ids=["node-dies", "node-stops-answering"])
def test_a_lost_node_ends_the_run_on_the_other_with_an_error(tmp_path, python, how, seen):
    """A dead rank's sockets close, so the other fails at its next collective; a rank that stops answering
    holds them open, and --ddp-timeout bounds the wait. After a node dies (kill -9), relaunching both resumes
    from the last complete checkpoint on samples no rank trained on, the loss keeps falling, and final/ is a
    model evaluate loads."""
    out = tmp_path / "lost"
    flags = ["--save-steps", "2", "--logging-steps", "1", "--dump-samples", "400"]
    nodes = Nodes(tmp_path, python, [out, out], ["--max-steps", "500", "--ddp-timeout", "10", *flags], "lost")
    try:
        deadline = time.monotonic() + 240
        while not re.search(r" [3-9]/500 \[", nodes.log_text(0)):
            if time.monotonic() > deadline or any(p.poll() is not None for p in nodes.procs):
                pytest.fail(f"the two nodes never trained together:\n{nodes.tail()}")
            time.sleep(1)
        nodes.track()
        nodes.rank_process(1).send_signal(how)
        lost_at = time.monotonic()
        code = nodes.procs[0].wait(timeout=120)
        waited = time.monotonic() - lost_at
    finally:
        nodes.stop()
    assert code != 0
    assert re.search(seen, nodes.log_text(0)), nodes.tail()
    assert waited < 90, f"node 0 took {waited:.0f}s to give up"
    if how != signal.SIGKILL:
        return

    _, step = find_checkpoint(out)
    trained_first = {s["code"] for rank in (0, 1) for s in _dumped(out, rank)}
    codes, nodes = run_nodes(tmp_path, python, [out, out], ["--max-steps", str(step + 2), *flags], "relaunched")
    assert codes == [0, 0], nodes.tail()
    assert json.loads((out / "cfg.json").read_text())["resume_step"] == step
    for rank in (0, 1):
        again = {s["code"] for s in _dumped(out, rank) if s["run_start_step"] == step}
        assert again and not again & trained_first, f"rank {rank} replayed samples (or trained none) after resuming"
    losses = _losses(out)
    assert len(losses) == step + 2 and losses[-1] < losses[0], losses
    _assert_evaluates(python, out / "final", tmp_path / "eval")
