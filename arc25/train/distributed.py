"""What a multi-process launch must agree on before and after the process group forms; the refusals for
launches that would otherwise train something other than what was asked; FSDP on CPU ranks
(docs/scaling_out.md).

Two checks, because two things can be wrong at different times:
- before any model loads (``check_launch``): the launcher's request, read from the variables it exports;
- once the trainer has formed the group (``check_group``): that every rank planned the same run.
"""

from __future__ import annotations

import os

__all__ = ["MPI_WORLD_VARIABLES", "check_group", "check_launch", "join_cpu_group", "shard_on_cpu", "shard_summary"]

# Launchers that set a world size without WORLD_SIZE; accelerate's CPU path reads these too.
MPI_WORLD_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")


def _flag(name: str) -> bool:
    return os.environ.get(name, "false").lower() in ("1", "true", "yes")


def check_launch(world: int, cuda: bool) -> None:
    """Raise a one-line ValueError for a launch that cannot run as requested; ``world`` is what the run planned
    for (run.rank_and_world)."""
    fsdp_version = os.environ.get("FSDP_VERSION", "1")  # accelerate's own default
    if _flag("ACCELERATE_USE_FSDP") and not cuda and fsdp_version != "2":
        # FSDP1's flat parameters are wrapped around CUDA streams; torch's fully_shard (FSDP2) runs on a CPU mesh.
        raise ValueError(f"fsdp_version {fsdp_version} on CPU: only FSDP2 shards CPU ranks; set fsdp_version: 2 in "
                         "the config (configs/fsdp.yaml has it)")
    if _flag("ACCELERATE_USE_DEEPSPEED"):
        try:
            import deepspeed  # noqa: F401
        except ImportError:
            raise ValueError("distributed_type DEEPSPEED needs deepspeed: pip install 'arc25[deepspeed]'") from None
    for name in MPI_WORLD_VARIABLES:
        if name in os.environ and int(os.environ[name]) != world:
            raise ValueError(f"{name}={os.environ[name]} but WORLD_SIZE says {world} process(es): launch with "
                             "accelerate launch or torchrun, which set WORLD_SIZE for every rank")
    missing = [name for name in ("RANK", "MASTER_ADDR", "MASTER_PORT") if world > 1 and not os.environ.get(name)]
    if missing:
        raise ValueError(f"WORLD_SIZE={world} but {', '.join(missing)} unset, so the ranks cannot find each other: "
                         "launch with accelerate launch or torchrun, or unset WORLD_SIZE for one process")


def join_cpu_group(world: int, cuda: bool, timeout_s: int) -> None:
    """On CPU, form the gloo group now, with ``timeout_s`` as every collective's limit.

    transformers (5.17) passes its ddp_timeout to the group only on GPUs; on CPU the group it forms waits
    torch's default 30 minutes for a node that stopped answering. accelerate and the trainer reuse a group
    that exists. On GPUs the trainer forms the group itself, with the same timeout.
    """
    import torch.distributed as dist

    if world > 1 and not cuda and not dist.is_initialized():
        from datetime import timedelta

        dist.init_process_group("gloo", rank=int(os.environ["RANK"]), world_size=world,
                                timeout=timedelta(seconds=timeout_s))


def check_group(accelerator, world: int, resume_step: int) -> None:
    """Raise a one-line RuntimeError unless the formed group has ``world`` ranks that all resume from the same
    step: ranks apart would each train on the wrong shards, or from different weights, without an error."""
    if accelerator.num_processes != world:
        raise RuntimeError(f"the process group has {accelerator.num_processes} rank(s) but the run was planned for "
                           f"WORLD_SIZE={world}: launch with accelerate launch or torchrun")
    if world == 1:
        return
    from accelerate.utils import gather_object

    steps = gather_object([resume_step])
    if len(set(steps)) > 1:
        raise RuntimeError(f"ranks would resume from different steps {steps} (by global rank): --output-dir must be "
                           "one folder that every node sees (a shared file system)")


def shard_on_cpu(trainer) -> None:
    """Make an FSDP launch on CPU ranks shard (FSDP2 over gloo) instead of quietly running plain DDP.

    accelerate (1.15) turns ACCELERATE_USE_FSDP into its FSDP mode only for GPU-like devices; on CPU it leaves
    the ranks in MULTI_CPU, replicating every weight and saving unsharded checkpoints. torch's fully_shard works
    on a CPU mesh, so once the trainer has made its accelerator we switch the shared state to FSDP with the
    plugin the launcher described (the same environment variables accelerate reads on GPUs): the model is then
    sharded at prepare time, checkpoints are written per rank, and the trainer's FSDP save and resume apply.
    """
    from accelerate.state import AcceleratorState, PartialState
    from accelerate.utils import DistributedType, FullyShardedDataParallelPlugin

    state = AcceleratorState()
    if not _flag("ACCELERATE_USE_FSDP") or state.distributed_type != DistributedType.MULTI_CPU:
        return
    state.fsdp_plugin = FullyShardedDataParallelPlugin()  # read from the launcher's variables, as on GPUs
    state.distributed_type = DistributedType.FSDP
    # Every later AcceleratorState() (the optimizer and scheduler wrappers make one) copies the partial state's
    # type over its own; accelerate keeps the two equal the same way.
    PartialState._shared_state["distributed_type"] = DistributedType.FSDP
    trainer.is_fsdp_enabled = True


def shard_summary(model) -> dict | None:
    """How much of the model this rank holds once FSDP2 has sharded it; None for a model that is not sharded."""
    from torch.distributed.tensor import DTensor

    held = total = 0
    sharded = False
    for param in model.parameters():
        total += param.numel()
        if isinstance(param, DTensor):
            sharded = True
            held += param.to_local().numel()
        else:
            held += param.numel()
    return {"held": held, "total": total, "fraction": held / total} if sharded and total else None
