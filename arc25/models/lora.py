"""LoRA adapter tensors: whether an adapter's shapes fit a base model's layers, and applying it.

peft reports an adapter trained on another base as a multi-line state-dict dump (or not at all, when module
names happen to match). Here the adapter's tensor shapes are compared with the base's layers, on a weightless
copy of the model: a mismatch is one line, before any weights load. Which base an adapter belongs to (its
recorded base weights and seed) is arc25.models.loading's rule.
"""

from __future__ import annotations

import json
from pathlib import Path

from arc25 import models

__all__ = ["adapter_mismatch", "apply_adapter", "read_adapter_config", "weightless"]

_PREFIX = "base_model.model."
# Saved tensor name suffix -> (which dimension of the base layer it must match, index in the tensor's shape).
_LINEAR = {".lora_A.weight": ("in_features", 1), ".lora_B.weight": ("out_features", 0)}
_EMBEDDING = {".lora_embedding_A": ("num_embeddings", 1), ".lora_embedding_B": ("embedding_dim", 0)}


def read_adapter_config(adapter_path: str) -> dict:
    """adapter_config.json of a peft adapter folder; a one-line ValueError if it is missing or unreadable."""
    path = Path(adapter_path).expanduser() / "adapter_config.json"
    if not path.is_file():
        raise ValueError(f"adapter {adapter_path!r} has no adapter_config.json: not a peft adapter folder")
    try:
        config = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"adapter {adapter_path!r}: cannot read adapter_config.json ({err})") from None
    if not isinstance(config, dict):
        raise ValueError(f"adapter {adapter_path!r}: adapter_config.json is not a JSON object")
    return config


def _adapter_shapes(adapter_path: str) -> dict[str, tuple[int, ...]] | None:
    """Tensor name -> shape from adapter_model.safetensors's header (no data read); None if there is no such file."""
    path = Path(adapter_path) / "adapter_model.safetensors"
    if not path.is_file():
        return None
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return {name: tuple(f.get_slice(name).get_shape()) for name in f.keys()}


def weightless(model_path: str, tokenizer):
    """The model's module tree on the meta device: shapes without memory or a weight load."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    if models.is_builtin(model_path):
        config = models.builtin_config(model_path, tokenizer)
    else:
        config = AutoConfig.from_pretrained(model_path, local_files_only=True)
    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(config)


def adapter_mismatch(model, adapter_path: str) -> str | None:
    """Why the adapter's LoRA tensors do not fit ``model``'s layers, or None if they all do (or cannot be read)."""
    shapes = _adapter_shapes(adapter_path)
    if shapes is None:
        return None
    for name, shape in sorted(shapes.items()):
        for suffixes in (_LINEAR, _EMBEDDING):
            suffix = next((s for s in suffixes if name.endswith(s)), None)
            if suffix is None:
                continue
            module_path = name[: -len(suffix)]
            module_path = module_path[len(_PREFIX) :] if module_path.startswith(_PREFIX) else module_path
            try:
                module = model.get_submodule(module_path)
            except AttributeError:
                return f"it adapts {module_path}, which the base model does not have"
            attribute, axis = suffixes[suffix]
            expected = getattr(module, attribute, None)
            if expected is None:
                kind = "linear" if suffixes is _LINEAR else "embedding"
                return f"it adapts {module_path} as a {kind} layer, but the base's is a {type(module).__name__}"
            if len(shape) != 2 or shape[axis] != expected:
                return f"{name} has shape {list(shape)} but the base's {module_path} has {attribute}={expected}"
    return None


def _first_line(message: str) -> str:
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    # torch puts the useful part ("size mismatch for ...") on the second line of its load error.
    useful = next((line for line in lines if "size mismatch" in line), lines[0] if lines else "")
    return useful[:400]


def apply_adapter(model, adapter_path: str, *, trainable: bool = False):
    """Wrap ``model`` with the adapter's weights; a mismatch peft finds at load time becomes a one-line ValueError."""
    from peft import PeftModel

    problem = adapter_mismatch(model, adapter_path)
    if problem:
        raise ValueError(f"adapter {adapter_path!r} does not fit this base model: {problem}")
    try:
        return PeftModel.from_pretrained(model, adapter_path, is_trainable=trainable)
    except (RuntimeError, ValueError, KeyError) as err:
        raise ValueError(f"adapter {adapter_path!r} does not fit this base model: {_first_line(err)}") from None
