"""Code that differs between the library versions, or model classes, that arc25 supports, and what each branch serves.

pyproject.toml claims wide ranges so that a GPU machine can keep its own builds. CI tests the versions pinned in
constraints.txt. The two kinds of machine the code must run on today:

- CI and development: torch 2.13 (CPU), transformers 5.24, trl 1.16, peft 0.21, accelerate 1.15.
- The lent GPU machine: torch 2.11, transformers 5.17, peft 0.21, accelerate 1.15 (trl 1.16 carried in as a wheel).

A branch goes when no supported version needs it: raise the floor in pyproject.toml and delete the branch here.

Branches in this module:

- ``accepts_logits_to_keep``: transformers' causal LMs take ``logits_to_keep`` at every version arc25 claims
  (>= 4.56; Qwen2 checked at 5.24). A model class whose forward lacks it (another library's, or a custom one)
  gets full logits instead. Used by ``arc25.train.token_classes.class_losses``.
- ``checkpointing_field``: the checkpointing field of trl's SFTConfig. It is ``activation_checkpointing`` in
  transformers 5.2x, which warns on the old name; 5.17 knows only ``gradient_checkpointing``. Used by
  ``finetuning.sft_config``.
- ``cache_argument``: the forward argument that takes the KV cache. It is ``cache`` in transformers 5.2x (5.24
  checked) and ``past_key_values`` in 5.17 and before. Used by ``arc25.infer.generation``.
- ``restore_indexed_cpu_storage``: transformers 5.17 resumes a multi-process run's optimizer with
  ``map_location=args.device``, which accelerate makes ``cpu:0`` on CPU ranks, and torch knows no such location
  (5.24 loads to plain ``cpu``). Registers the missing location with torch; harmless where nothing asks for it.
  Used by ``arc25.train.trainer.ArcTrainer``.
- ``unwrap_for_generation``: trl's ``unwrap_model_for_generation`` takes ``gradient_checkpointing_kwargs`` in trl
  1.16 (checked); the signature check serves trl 1.x versions without it. Used by ``arc25.train.solve_rate``.

Floors that need no branch: models load with ``dtype=`` (transformers >= 4.56, which renamed ``torch_dtype``), and
``accelerate >= 1.8`` splits an ``IterableDataset`` across ranks by shard (see arc25/train/data.py).
"""

from __future__ import annotations

import functools
import inspect


def _forward_parameters(model) -> set[str]:
    # A peft wrapper forwards **kwargs, so what counts is the wrapped transformers model's own signature.
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return set(inspect.signature(type(base).forward).parameters)


def accepts_logits_to_keep(model) -> bool:
    """Whether ``model(..., logits_to_keep=k)`` computes logits for only the last k positions."""
    return "logits_to_keep" in _forward_parameters(model)


def checkpointing_field(sft_config_class) -> str:
    """The name under which ``sft_config_class`` (trl's SFTConfig) turns activation checkpointing on."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(sft_config_class)}
    return "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"


def cache_argument(model) -> str:
    """The forward argument that takes the KV cache."""
    return "cache" if "cache" in _forward_parameters(model) else "past_key_values"


def _indexed_cpu(storage, location: str):
    # torch's own CPU deserializer matches "cpu" alone; an index on a CPU device means nothing, so the storage
    # stays where it was read (the CPU).
    if location.startswith("cpu:") and location[4:].isdigit():
        return storage
    return None


@functools.cache
def restore_indexed_cpu_storage() -> None:
    """Let ``torch.load(..., map_location="cpu:N")`` load to the CPU (once per process)."""
    import torch.serialization

    # After torch's own locations (priorities 10-26): only what none of them knows reaches it.
    torch.serialization.register_package(99, _no_tag, _indexed_cpu)


def _no_tag(storage):
    return None  # saving is untouched: storages keep torch's own location tags


def unwrap_for_generation(trainer):
    """trl's context manager that yields the trainer's model ready to generate (unwrapped, ZeRO-3 gathered),
    bringing checkpointing back with the run's own settings where trl accepts them."""
    from trl.models import unwrap_model_for_generation

    kwargs = {}
    if "gradient_checkpointing_kwargs" in inspect.signature(unwrap_model_for_generation).parameters:
        kwargs["gradient_checkpointing_kwargs"] = trainer.args.gradient_checkpointing_kwargs
    return unwrap_model_for_generation(trainer.model_wrapped, trainer.accelerator, **kwargs)
