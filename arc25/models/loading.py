"""Models, tokenizers and adapters for training and for inference, decided by one set of rules.

Every command loads through ``prepare`` (decide and check; no weights load) and then ``load_model``:

- Lineage: a model descends from a builtin (tiny, mini, small, qwen2.5-0.5b-shape) or from pretrained weights. A builtin
  name is its own lineage; a folder saved by finetuning.py records its lineage in arc25_training.json (older
  folders: the builtin they were trained from). The lineage decides two things:
- the tokenizer: the builtin tokenizer for anything descending from a builtin (AutoTokenizer would rebuild a
  qwen2-type folder's pre-tokenizer), the folder's own otherwise;
- the from-scratch rule, when --use-lora is left unset: a model descending from tiny, mini or small trains in full
  (LoRA on weights that started random learns next to nothing, and full training is what measured best);
  anything else trains a LoRA adapter. So ``finetuning.py --model-path runs/small/final`` continues the full
  model, as test-time HER does. An explicit --use-lora or --no-use-lora is obeyed whatever the lineage (an
  adapter on a trained runs/small/final is a fair request); --no-use-lora with --adapter-path is refused, since
  continuing an adapter is LoRA training.
- Dtype: ``auto`` is bfloat16 on a bf16 GPU, except full fine-tuning, whose weights stay float32.
- Adapters: an adapter records the identity of the base weights it was trained on (a builtin's name and init seed;
  a folder's fingerprint of its config and weights), so an adapter trained on runs/a/final is refused on
  runs/b/final though both folders are called "final"; then its tensor shapes are checked on a weightless copy of
  the base. Both fail in one line, before any weights load.

arc25.models builds the objects (builtin configs, tokenizers, weights) and arc25.models.lora checks and applies adapter
tensors; the rules for which to build live here.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

from arc25 import models

__all__ = ["ModelPlan", "TRAINED_FROM_SCRATCH", "TRAINING_INFO", "check_adapter", "check_matches_training",
           "fingerprint", "lineage", "load_model", "merge_adapter", "prepare", "read_training_info",
           "resolve_device", "split_trained", "training_info", "write_training_info"]

TRAINING_INFO = "arc25_training.json"
# Random-init builtins meant to learn from scratch: LoRA on random weights would learn next to nothing.
TRAINED_FROM_SCRATCH = ("tiny", "mini", "small")
# A fingerprint reads this many evenly spaced slices of each weight file: training moves every layer, so two
# trained models differ in them, and the check stays quick on multi-gigabyte folders.
_SLICES, _SLICE_BYTES = 64, 1 << 16


# --- recorded training info -------------------------------------------------------------------------------------


def write_training_info(folder, **info) -> None:
    """Record beside saved weights or an adapter what a later run must match (base model, seed, prompt, lineage)."""
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    (path / TRAINING_INFO).write_text(json.dumps(info, indent=2))


def read_training_info(folder) -> dict:
    """What write_training_info recorded in this folder; {} for folders trained elsewhere (or builtin names)."""
    path = Path(folder).expanduser() / TRAINING_INFO
    return json.loads(path.read_text()) if path.is_file() else {}


def recorded_grid_encoder(model_path: str, adapter_path: str | None = None) -> str | None:
    """The grid encoder recorded beside the adapter, else beside the model (arc25_training.json); None if neither
    records one (a builtin, or a folder trained elsewhere)."""
    for folder in (adapter_path, model_path):
        recorded = read_training_info(folder).get("grid_encoder") if folder else None
        if recorded:
            return recorded
    return None


def check_matches_training(folder, prompt_style: str | None, grid_encoder: str | None = None) -> None:
    """Warn when a model is used with another prompt style or grid encoder than the ones it was trained with."""
    info = read_training_info(folder)
    for flag, used in (("prompt-style", prompt_style), ("grid-encoder", grid_encoder)):
        trained = info.get(flag.replace("-", "_"))
        if used is not None and trained is not None and trained != used:
            warnings.warn(f"{folder} was trained with --{flag} {trained} but is used with --{flag} {used}; "
                          "its programs will suffer")


def lineage(model_path: str) -> str | None:
    """The builtin these weights descend from (the name itself for a builtin), or None for pretrained weights."""
    if models.is_builtin(model_path):
        return model_path
    info = read_training_info(model_path)
    recorded = info.get("builtin", info.get("model_path"))
    return recorded if isinstance(recorded, str) and models.is_builtin(recorded) else None


def _is_weights(name: str) -> bool:
    # Not training_args.bin (it names the run's folders) nor an adapter's own weights.
    return (name.startswith("model") and name.endswith(".safetensors")) or \
        (name.startswith("pytorch_model") and name.endswith(".bin"))


def fingerprint(model_path: str) -> str:
    """What identifies a folder's weights wherever it lives: a hash of its config and of slices of its weights."""
    folder = Path(model_path).expanduser()
    digest = hashlib.sha256()
    config = folder / "config.json"
    if config.is_file():
        digest.update(config.read_bytes())
    for file in sorted(p for p in folder.iterdir() if _is_weights(p.name)):
        size = file.stat().st_size
        digest.update(f"{file.name}:{size}".encode())
        with open(file, "rb") as f:
            for i in range(_SLICES):
                f.seek(i * max(size - _SLICE_BYTES, 0) // max(_SLICES - 1, 1))
                digest.update(f.read(_SLICE_BYTES))
    return digest.hexdigest()[:32]


def training_info(model_path: str, *, seed: int, prompt_style: str, grid_encoder: str) -> dict:
    """What a model or adapter trained on ``model_path`` records (read back by prepare and check_adapter)."""
    info = dict(model_path=model_path, random_seed=seed, prompt_style=prompt_style, grid_encoder=grid_encoder,
                builtin=lineage(model_path))
    if not models.is_builtin(model_path):
        info["base_fingerprint"] = fingerprint(model_path)
    return info


# --- adapters -----------------------------------------------------------------------------------------------------


def _same_base(info: dict, model_path: str) -> bool:
    trained_on = info.get("model_path")
    if trained_on is None:
        return True
    if models.is_builtin(trained_on) or models.is_builtin(model_path):
        return trained_on == model_path
    if "base_fingerprint" in info:
        return info["base_fingerprint"] == fingerprint(model_path)
    # Adapters recorded before fingerprints: only the folder's name is known.
    return Path(trained_on).name == Path(model_path).expanduser().resolve().name


def check_adapter(model_path: str, tokenizer, adapter_path: str, model_seed: int | None = None,
                  default_seed: int = 0) -> int:
    """Raise a one-line ValueError unless the adapter was trained on these base weights and its tensors fit them;
    return the init seed to build a builtin base with.

    For a builtin base, whose weights are its init seed: ``model_seed`` if given (it must be the recorded one),
    else the recorded seed, else ``default_seed`` (adapters trained elsewhere get only the shape check).
    """
    from arc25.models import lora

    config = lora.read_adapter_config(adapter_path)
    info = read_training_info(adapter_path)
    if not _same_base(info, model_path):
        raise ValueError(f"adapter {adapter_path!r} was trained on base {info['model_path']!r}, not --model-path "
                         f"{model_path!r} (its weights differ)")
    recorded = info.get("random_seed")
    seed = default_seed if model_seed is None else model_seed
    if models.is_builtin(model_path) and recorded is not None:
        if model_seed is not None and model_seed != recorded:
            raise ValueError(f"adapter {adapter_path!r} was trained on {model_path} built from seed {recorded}, "
                             f"but seed {model_seed} was given: its base weights would differ (use {recorded})")
        seed = recorded
    problem = lora.adapter_mismatch(lora.weightless(model_path, tokenizer), adapter_path)
    if problem:
        trained_on = config.get("base_model_name_or_path")
        hint = f" (it was trained on {trained_on!r})" if trained_on else ""
        raise ValueError(f"adapter {adapter_path!r} does not fit base model {model_path!r}{hint}: {problem}")
    return seed


def split_trained(folder: str) -> tuple[str, str | None]:
    """(model path, adapter path) of what a training run saved: an adapter folder names its base in its record."""
    path = Path(folder).expanduser()
    if models.is_builtin(folder) or not (path / "adapter_config.json").is_file():
        return folder, None
    base = read_training_info(path).get("model_path")
    if base is None:
        raise ValueError(f"adapter {folder!r} records no base model ({TRAINING_INFO}); give --model-path and "
                         "--adapter-path")
    return base, folder


# --- the plan and the load ----------------------------------------------------------------------------------------


@dataclass
class ModelPlan:
    """What will be loaded and how, decided and checked before any weights load."""

    model_path: str
    adapter_path: str | None
    tokenizer: object
    builtin: str | None
    """The builtin the weights descend from (None: pretrained weights)."""
    from_scratch: bool
    new_adapter: bool
    """Training puts a fresh LoRA adapter on the model."""
    lora_reason: str
    """Why training is LoRA or full, in a few words (asked, the lineage, a continued adapter)."""
    dtype: str
    seed: int
    """Init seed of a builtin base."""

    @property
    def use_lora(self) -> bool:
        return self.new_adapter or self.adapter_path is not None

    def training_mode(self) -> str:
        """'LoRA' or 'full', with the reason: e.g. 'full (from-scratch lineage: tiny)'."""
        return f"{'LoRA' if self.use_lora else 'full'} ({self.lora_reason})"

    def training_info(self, *, prompt_style: str, grid_encoder: str) -> dict:
        return training_info(self.model_path, seed=self.seed, prompt_style=prompt_style, grid_encoder=grid_encoder)


def prepare(model_path: str, adapter_path: str | None = None, *, training: bool = False, use_lora: bool | None = None,
            torch_dtype: str = "auto", bf16: bool = False, model_seed: int | None = None, default_seed: int = 0,
            prompt_style: str | None = None, grid_encoder: str | None = None) -> ModelPlan:
    """Decide the tokenizer, LoRA, dtype and seed by the rules above and check any adapter; no weights load.

    ``bf16``: the device computes in bfloat16. ``use_lora``: the --use-lora flag (training only): True or False is
    obeyed, None decides by the lineage.
    """
    models.check_model_path(model_path)
    builtin = lineage(model_path)
    from_scratch = builtin in TRAINED_FROM_SCRATCH
    if training and adapter_path is not None and use_lora is False:
        raise ValueError(f"--no-use-lora asks for full training, but --adapter-path {adapter_path!r} continues a LoRA "
                         f"adapter: merge it first (arc25-merge-lora) or leave --use-lora unset")
    if adapter_path is not None:
        reason = "continues --adapter-path"
    elif use_lora is not None:
        reason = "--use-lora" if use_lora else "--no-use-lora"
    elif from_scratch:
        reason = f"from-scratch lineage: {builtin}"
    else:
        reason = "pretrained weights"
    new_adapter = training and adapter_path is None and (use_lora if use_lora is not None else not from_scratch)
    full_training = training and adapter_path is None and not new_adapter
    dtype = torch_dtype if torch_dtype != "auto" else ("bfloat16" if bf16 and not full_training else "float32")
    tokenizer = models.builtin_tokenizer() if builtin else models.load_tokenizer(model_path)
    seed = default_seed if model_seed is None else model_seed
    if adapter_path is not None:
        seed = check_adapter(model_path, tokenizer, adapter_path, model_seed=model_seed, default_seed=default_seed)
    check_matches_training(adapter_path or model_path, prompt_style, grid_encoder)
    return ModelPlan(model_path=model_path, adapter_path=adapter_path, tokenizer=tokenizer, builtin=builtin,
                     from_scratch=from_scratch, new_adapter=new_adapter, lora_reason=reason, dtype=dtype, seed=seed)


def load_model(plan: ModelPlan, *, lora=None, trainable: bool = False, device_map=None, attn_implementation="sdpa"):
    """The planned model: weights, then the adapter (kept trainable when ``trainable``) or a new one from ``lora``
    (an arc25.cli.args.LoraArgs)."""
    model = models.load_model(plan.model_path, plan.tokenizer, dtype=plan.dtype, seed=plan.seed,
                              device_map=device_map, attn_implementation=attn_implementation)
    if plan.adapter_path is not None:
        from arc25.models.lora import apply_adapter

        return apply_adapter(model, plan.adapter_path, trainable=trainable)
    if plan.new_adapter:
        if lora is None:
            raise ValueError("a new LoRA adapter needs its settings (arc25.cli.args.LoraArgs)")
        from peft import get_peft_model

        return get_peft_model(model, lora.lora_config())
    return model


def resolve_device(name: str | None):
    """--device as a torch device (default: cuda if available, else cpu); a one-line ValueError if unusable."""
    import torch

    try:
        device = torch.device(name or ("cuda" if torch.cuda.is_available() else "cpu"))
    except RuntimeError:
        raise ValueError(f"--device {name!r} is not a torch device (e.g. cpu, cuda, cuda:1)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {name!r} asks for CUDA, but no GPU is visible")
    return device


def bf16_device(device) -> bool:
    """Whether ``device`` computes in bfloat16 (a CUDA GPU that supports it)."""
    import torch

    return device.type == "cuda" and torch.cuda.is_bf16_supported()


def autocast_bf16(mixed_precision: str, cuda: bool) -> bool:
    """Whether training computes in bfloat16 under autocast, for --mixed-precision (auto, bf16, fp32); a one-line
    ValueError when bf16 is asked of a GPU without it."""
    import torch

    if mixed_precision == "fp32":
        return False
    supported = cuda and torch.cuda.is_bf16_supported()
    if mixed_precision == "auto":
        return supported
    if cuda and not supported:
        raise ValueError(f"--mixed-precision bf16: {torch.cuda.get_device_name()} has no bfloat16; use auto or fp32")
    return True


def merge_adapter(base_path: str, adapter_path: str, out_dir: str, *, dtype: str = "bfloat16",
                  model_seed: int | None = None) -> Path:
    """Fold the adapter into the base's weights (computed in float32) and save model + tokenizer in ``dtype``.

    ``model_seed`` is the init seed of a builtin base; by default the one the adapter records.
    """
    import torch

    if dtype not in ("float32", "bfloat16", "float16"):
        raise ValueError(f"--torch-dtype must be float32, bfloat16 or float16, got {dtype!r}")
    out = Path(out_dir).expanduser()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"--output-dir {out_dir!r} already exists and is not an empty folder; choose a new one")
    for source in (base_path, adapter_path):
        if Path(source).expanduser().resolve() == out.resolve():
            raise ValueError(f"--output-dir {out_dir!r} must differ from the base model and the adapter folders")
    plan = prepare(base_path, adapter_path, torch_dtype="float32", model_seed=model_seed)
    merged = load_model(plan).merge_and_unload().to(getattr(torch, dtype))
    out.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(str(out))
    plan.tokenizer.save_pretrained(str(out))
    info = read_training_info(adapter_path)
    if info:
        # A plain model now: it keeps its prompt and lineage, not the base's identity and seed.
        kept = {k: v for k, v in info.items() if k not in ("model_path", "random_seed", "base_fingerprint")}
        kept["builtin"] = plan.builtin
        write_training_info(out, **kept, merged_from=dict(model_path=base_path, adapter_path=str(adapter_path)))
    return out
