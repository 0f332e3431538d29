"""Code that differs between the library versions, or model classes, that arc25 supports, and what each branch serves.

pyproject.toml claims wide ranges so that a GPU machine can keep its own builds. CI tests the versions pinned in
constraints.txt. The two kinds of machine the code must run on today:

- CI and development: torch 2.13 (CPU), transformers 5.24, trl 1.16, peft 0.21, accelerate 1.15.
- The lent GPU machine: torch 2.11, transformers 5.17, peft 0.21, accelerate 1.15 (trl 1.16 carried in as a wheel).

A branch goes when no supported version needs it: raise the floor in pyproject.toml and delete the branch here.

Branches in this module:

- ``accepts_logits_to_keep``: transformers' causal LMs take ``logits_to_keep`` at every version arc25 claims
  (>= 4.56; Qwen2 checked at 5.24). A model class whose forward lacks it (another library's, or a custom one)
  gets full logits instead. Used by ``arc25.token_classes.class_losses``.

Branches that still live beside the code that uses them:

- ``finetuning.sft_config``: the checkpointing field of SFTConfig. It is ``activation_checkpointing`` in
  transformers 5.2x, which warns on the old name; 5.17 knows only ``gradient_checkpointing``.
- ``arc25.generation._cache_kwarg``: the forward argument that takes the KV cache. It is ``cache`` in transformers
  5.2x (5.24 checked) and ``past_key_values`` in 5.17 and before.
- ``arc25.solve_rate.SolveRateCallback._generation_model``: trl's ``unwrap_model_for_generation`` takes
  ``gradient_checkpointing_kwargs`` in trl 1.16 (checked); the signature check serves trl versions without it. The
  ImportError fallback serves a trl without ``trl.models.unwrap_model_for_generation``.

Floors that need no branch: models load with ``dtype=`` (transformers >= 4.56, which renamed ``torch_dtype``), and
``accelerate >= 1.8`` splits an ``IterableDataset`` across ranks by shard (see arc25/data.py).
"""

from __future__ import annotations

import inspect


def _forward_parameters(model) -> set[str]:
    # A peft wrapper forwards **kwargs, so what counts is the wrapped transformers model's own signature.
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return set(inspect.signature(type(base).forward).parameters)


def accepts_logits_to_keep(model) -> bool:
    """Whether ``model(..., logits_to_keep=k)`` computes logits for only the last k positions."""
    return "logits_to_keep" in _forward_parameters(model)
