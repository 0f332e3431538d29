"""LoRA adapters: check that one fits a base model, load it, and merge it into the base for serving.

peft reports an adapter trained on another base as a multi-line state-dict dump (or not at all, when
module names happen to match, as on a builtin base built from another seed). Here an adapter trained by
arc25 is first compared with the base it records (arc25_training.json: model, init seed), then its tensor
shapes with the base's layers, on a weightless copy of the model: a mismatch is one line, before any weights load.
"""

from __future__ import annotations

import json
from pathlib import Path

from arc25 import models

__all__ = ["adapter_mismatch", "apply_adapter", "check_adapter", "check_recorded_base", "merge_adapter",
           "read_adapter_config"]

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


def _weightless(model_path: str, tokenizer):
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


def check_recorded_base(adapter_path: str, model_path: str, model_seed: int | None = None) -> int:
    """The init seed to build ``model_path`` with for this adapter; a one-line ValueError if the adapter records
    another base, or (for a builtin base, whose weights are that seed) another seed than ``model_seed``.

    Adapters without a record (trained elsewhere) get ``model_seed`` (default 0) and only the shape check.
    """
    info = models.read_training_info(adapter_path)
    trained_on = info.get("model_path")
    if trained_on is not None and models.base_name(trained_on) != models.base_name(model_path):
        raise ValueError(f"adapter {adapter_path!r} was trained on base {trained_on!r}, not --model-path {model_path!r}")
    recorded = info.get("random_seed")
    if not models.is_builtin(model_path) or recorded is None:
        return 0 if model_seed is None else model_seed
    if model_seed is not None and model_seed != recorded:
        raise ValueError(f"adapter {adapter_path!r} was trained on {model_path} built from seed {recorded}, "
                         f"but seed {model_seed} was given: its base weights would differ (use {recorded})")
    return recorded


def check_adapter(model_path: str, tokenizer, adapter_path: str, model_seed: int | None = None) -> int:
    """Raise a one-line ValueError unless the adapter fits the base model; return the base's init seed."""
    config = read_adapter_config(adapter_path)
    seed = check_recorded_base(adapter_path, model_path, model_seed)
    problem = adapter_mismatch(_weightless(model_path, tokenizer), adapter_path)
    if problem:
        trained_on = config.get("base_model_name_or_path")
        hint = f" (it was trained on {trained_on!r})" if trained_on else ""
        raise ValueError(f"adapter {adapter_path!r} does not fit base model {model_path!r}{hint}: {problem}")
    return seed


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


def merge_adapter(base_path: str, adapter_path: str, out_dir: str, *, dtype: str = "bfloat16",
                  model_seed: int | None = None) -> Path:
    """Fold the adapter into the base's weights (computed in float32) and save model + tokenizer in ``dtype``.

    ``model_seed`` is the init seed of a builtin base; by default the one the adapter records.
    """
    import torch

    if dtype not in ("float32", "bfloat16", "float16"):
        raise ValueError(f"--torch-dtype must be float32, bfloat16 or float16, got {dtype!r}")
    models.check_model_path(base_path)
    out = Path(out_dir).expanduser()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"--output-dir {out_dir!r} already exists and is not an empty folder; choose a new one")
    for source in (base_path, adapter_path):
        if Path(source).expanduser().resolve() == out.resolve():
            raise ValueError(f"--output-dir {out_dir!r} must differ from the base model and the adapter folders")
    tokenizer = models.load_tokenizer(base_path)
    seed = check_adapter(base_path, tokenizer, adapter_path, model_seed)
    base = models.load_model(base_path, tokenizer, dtype="float32", seed=seed)
    merged = apply_adapter(base, adapter_path).merge_and_unload()
    merged = merged.to(getattr(torch, dtype))
    out.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    info = models.read_training_info(adapter_path)
    if info:
        # The merged folder is a plain model now: it keeps the prompt it was trained with, not the base's seed.
        models.write_training_info(out, **{k: v for k, v in info.items() if k not in ("model_path", "random_seed")},
                                   merged_from=dict(model_path=base_path, adapter_path=str(adapter_path)))
    return out
