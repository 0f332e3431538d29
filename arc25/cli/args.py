"""Argument groups that every command composes: one declaration, one help text and one check per flag.

A command's settings are a dataclass that inherits the groups it needs. The groups' fields become the command's
flags, recipe keys and attributes as they are (``--lora-r``, ``lora_r:``, ``cfg.lora_r``), with no prefix, so the
research journal's commands and the recipes read the same whichever command composes them. Each group's
``validate`` checks its own fields and then hands on to the next group's (``super().validate()``), so a command
runs every check of every group it holds; a command checks only what ties its groups together.

A command may give a field another default by redeclaring it with no docstring: tyro takes the help from the group.
(Nested dataclasses with ``tyro.conf.OmitArgPrefixes`` would spell the flags the same, but recipes, sweeps and
``Config(max_steps=3)`` in tests would all have to learn the nesting; flat inheritance keeps them as they are.)

Hardware-dependent defaults (liger kernels, length grouping, the optimizer) are resolved one way: at construction, from
``cuda_visible()``, which imports torch only where a GPU driver is present, so ``--help`` stays fast on a CPU machine.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field, fields
from typing import Literal, Optional

import tyro

from arc25.cli import DEFAULT_RANDOM_SEED, CliConfig
from arc25.prompts.encoders import DEFAULT_ENCODER_SPEC
from arc25.prompts.prompting import DEFAULT_PROMPT_STYLE

__all__ = [
    "AdapterArgs", "DeviceArgs", "DrawOrderArgs", "EvalSettings", "GenerationArgs", "LoraArgs", "MixtureArgs", "ModelArgs",
    "ModelSeedArgs", "OnOffAuto", "OptimArgs", "OutputArgs", "ProgressArgs", "PromptArgs", "SamplingArgs", "SandboxArgs",
    "ScheduleArgs", "SeedArgs", "SeqLenArgs", "SolveRateArgs", "SpeedArgs", "TaskArgs", "TrackingArgs",
    "TrainedPromptArgs", "TrainingArgs",
    "cuda_visible", "field_names", "on_off_fields",
]

# An on/off flag whose absence means "decide for me": --x gives True, --no-x False, neither None (the command
# decides, and says what it decided).
OnOffAuto = tyro.conf.DisallowNone[Optional[bool]]

# Measured by scripts/gpu_report.py on one H100 (docs/results/2026-11-28-training-speed.md): length grouping
# 1.39x real tokens/s.
CUDA_GROUP_WINDOW = 256


# Device nodes a GPU driver creates (NVIDIA, WSL2, ROCm): torch.cuda cannot work without one of them.
_GPU_DRIVER_PATHS = ("/dev/nvidiactl", "/proc/driver/nvidia", "/dev/dxg", "/dev/kfd")


@functools.cache
def cuda_visible() -> bool:
    """Whether torch sees a CUDA GPU; without a GPU driver on the machine, answered without importing torch."""
    if not any(os.path.exists(path) for path in _GPU_DRIVER_PATHS):
        return False
    import torch

    return torch.cuda.is_available()


def _liger_by_default() -> bool:
    import importlib.util

    return importlib.util.find_spec("liger_kernel") is not None and cuda_visible()


def _group_window_by_default() -> int:
    return CUDA_GROUP_WINDOW if cuda_visible() else 0


def _optim_by_default() -> str:
    # Fused AdamW: one kernel per parameter group and no per-tensor step-counter reads (arc25-benchmark-step-overhead:
    # 24 reads per micro-batch fewer). CPU keeps the foreach loop the seeded loss bands were measured with.
    return "adamw_torch_fused" if cuda_visible() else "adamw_torch"


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _at_least(cfg, minimum: int, *names: str) -> None:
    for name in names:
        value = getattr(cfg, name)
        if value is not None and value < minimum:
            raise ValueError(f"{_flag(name)} must be >= {minimum}, got {value}")


def _positive(cfg, *names: str) -> None:
    for name in names:
        value = getattr(cfg, name)
        if value is not None and not value > 0:
            raise ValueError(f"{_flag(name)} must be > 0, got {value}")


def field_names(*groups: type) -> list[str]:
    """The fields of these groups, in declaration order (e.g. to pass a group on to another command's recipe)."""
    return [f.name for group in groups for f in fields(group)]


def on_off_fields(cls: type) -> set[str]:
    """The fields of ``cls`` spelled as a flag pair (--x / --no-x): plain bools and OnOffAuto ones."""
    return {f.name for f in fields(cls) if f.type in (bool, "bool", OnOffAuto, "OnOffAuto")}


# --- run ------------------------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class OutputArgs(CliConfig):
    output_dir: str = "runs/debug"
    """Folder the command writes into (what it writes is in the description above); a training run resumes from it."""


@dataclass(kw_only=True)
class SeedArgs(CliConfig):
    random_seed: int = DEFAULT_RANDOM_SEED
    """Seeds the run's randomness: task streams, held-out tasks, sampling and, where a command trains, a builtin
    model's init (each rank, worker, task and epoch derives its own seed from it)."""


@dataclass(kw_only=True)
class TrackingArgs(CliConfig):
    log_to_wandb: bool = True
    """Log to Weights & Biases (offline under --output-dir without credentials or network); else tensorboard."""
    wandb_project: str = "arc25"
    """W&B project name."""


@dataclass(kw_only=True)
class ProgressArgs(CliConfig):
    progress: bool = True
    """Show a progress bar."""


# --- model ----------------------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class ModelArgs(CliConfig):
    model_path: str = "tiny"
    """A local Hugging Face model folder (e.g. finetuning.py's <output-dir>/final) or a builtin: tiny, mini,
    small, qwen2.5-0.5b-shape."""
    torch_dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    """Weights dtype; auto = bfloat16 on a bf16 GPU, except full fine-tuning, whose weights stay float32 (mixed
    precision does the rest)."""

    def validate(self) -> None:
        super().validate()
        from arc25.models import check_model_path

        check_model_path(self.model_path)


@dataclass(kw_only=True)
class AdapterArgs(CliConfig):
    adapter_path: Optional[str] = None
    """A LoRA adapter folder on --model-path (checked against the base weights and seed it records); a training
    command continues it."""

    def validate(self) -> None:
        super().validate()
        if self.adapter_path is not None:
            from arc25.models.lora import read_adapter_config

            read_adapter_config(self.adapter_path)


@dataclass(kw_only=True)
class ModelSeedArgs(CliConfig):
    model_seed: Optional[int] = None
    """Init seed of a builtin --model-path; default: the one the adapter records (its run's --random-seed), else 0."""


@dataclass(kw_only=True)
class DeviceArgs(CliConfig):
    device: Optional[str] = None
    """Torch device (default: cuda if available, else cpu)."""


@dataclass(kw_only=True)
class LoraArgs(CliConfig):
    use_lora: OnOffAuto = None
    """--use-lora trains a LoRA adapter, --no-use-lora the full model. Unset: by the model's lineage, LoRA on
    pretrained weights and full training for a model trained from scratch (tiny, mini, small, or a folder trained from
    them), where LoRA on weights that started random learns next to nothing. Said at the start of every run."""
    lora_r: int = 32
    """LoRA rank."""
    lora_alpha: Optional[int] = None
    """LoRA alpha; default = rank."""
    lora_dropout: float = 0.0
    """LoRA dropout; data is never repeated, so regularisation buys little."""
    lora_target_modules: str = "q_proj,k_proj,v_proj,o_proj"
    """Comma-separated module names to adapt."""
    use_rslora: bool = False
    """Rank-stabilised LoRA scaling (alpha/sqrt(r))."""
    use_dora: bool = False
    """Weight-decomposed LoRA (DoRA)."""
    lora_weight_initialization: Literal["default", "gaussian", "pissa", "olora", "orthogonal"] = "default"
    """Initial adapter weights (peft's init_lora_weights)."""

    def validate(self) -> None:
        super().validate()
        _at_least(self, 1, "lora_r", "lora_alpha")
        if not 0 <= self.lora_dropout < 1:
            raise ValueError(f"--lora-dropout must be in [0, 1), got {self.lora_dropout}")
        if not self.target_modules():
            raise ValueError(f"--lora-target-modules {self.lora_target_modules!r} names no module")

    def target_modules(self) -> list[str]:
        return [m.strip() for m in self.lora_target_modules.split(",") if m.strip()]

    def lora_config(self):
        """peft's LoraConfig for a new adapter."""
        from peft import LoraConfig

        init = True if self.lora_weight_initialization == "default" else self.lora_weight_initialization
        return LoraConfig(
            r=self.lora_r, lora_alpha=self.lora_alpha or self.lora_r, lora_dropout=self.lora_dropout,
            use_rslora=self.use_rslora, use_dora=self.use_dora, target_modules=self.target_modules(),
            init_lora_weights=init, task_type="CAUSAL_LM",
        )


# --- tasks and text -------------------------------------------------------------------------------------------


# overrides() keys and the flags that set them.
OVERRIDE_FLAGS = {"n_inputs": "--n-inputs", "min_side": "--min-side", "max_side": "--max-side",
                  "min_draws": "--min-draws", "max_draws": "--max-draws", "functions": "--draw-functions",
                  "draw_weights": "--draw-weights", "draw_order": "--draw-order"}


@dataclass(kw_only=True)
class DrawOrderArgs(CliConfig):
    draw_order: Optional[Literal["name", "position"]] = None
    """Override: how a target program orders draws that could come in any order: name (by function, then
    arguments; the default) or position (top to bottom, as the grid shows them; fills last)."""


@dataclass(kw_only=True)
class TaskArgs(DrawOrderArgs):
    """Overrides of the synthetic generators' settings (None keeps each generator's own)."""

    n_inputs: Optional[int] = None
    """Override: input grids per task, for every generator."""
    min_side: Optional[int] = None
    """Override: smallest grid side (1-30)."""
    max_side: Optional[int] = None
    """Override: largest grid side (1-30); also sizes the squares:N and vertical-lines:N task sets."""
    min_draws: Optional[int] = None
    """Override: fewest DSL draws per program."""
    max_draws: Optional[int] = None
    """Override: most DSL draws per program."""
    draw_functions: Optional[str] = None
    """Override: comma-separated DSL functions programs draw with."""
    draw_weights: Optional[str] = None
    """Override: comma-separated relative weights of min-draws..max-draws draws per program, e.g. 1,2,4 for 1-3
    draws (default: every count equally likely)."""

    def overrides(self) -> dict:
        """The generator overrides as make_mixture / load_task_set keywords (None = the generator's own)."""
        functions = tuple(f.strip() for f in self.draw_functions.split(",")) if self.draw_functions else None
        return dict(n_inputs=self.n_inputs, min_side=self.min_side, max_side=self.max_side,
                    min_draws=self.min_draws, max_draws=self.max_draws, functions=functions,
                    draw_weights=self._draw_weights(), draw_order=self.draw_order)

    def _draw_weights(self) -> tuple[float, ...] | None:
        if self.draw_weights is None:
            return None
        try:
            return tuple(float(w) for w in self.draw_weights.split(","))
        except ValueError:
            raise ValueError(f"--draw-weights {self.draw_weights!r} must be comma-separated numbers, "
                             "one per draw count, e.g. 1,2,4") from None

    @staticmethod
    def takes(spec: str) -> tuple[str, ...]:
        """The overrides (``overrides()`` keys) that shape task set ``spec``: all for a synthetic set, the grid side
        for the OOD families (squares:N, vertical-lines:N), none for real tasks."""
        from arc25.tasks.tasksets import FAMILY_SET_OVERRIDES, FAMILY_LIMITS

        name = spec.partition(":")[0].strip()
        if name == "synthetic":
            return tuple(OVERRIDE_FLAGS)
        return FAMILY_SET_OVERRIDES if name in FAMILY_LIMITS else ()

    def check_task_sets(self, specs: list[str]) -> None:
        """A one-line ValueError for an override that shapes none of the task sets."""
        for key, value in self.overrides().items():
            if value is not None and not any(key in self.takes(spec) for spec in specs):
                raise ValueError(f"{OVERRIDE_FLAGS[key]} shapes none of {', '.join(specs)}: synthetic task sets take "
                                 "every generator override, squares:N and vertical-lines:N only --max-side")

    def overrides_for(self, spec: str) -> dict:
        """The overrides to load ``spec`` with: those that shape it (see ``takes``)."""
        return {k: v for k, v in self.overrides().items() if k in self.takes(spec)}

    def validate(self) -> None:
        super().validate()
        from arc25.tasks import make_mixture

        make_mixture("default", **self.overrides())  # raises on a value no generator accepts


@dataclass(kw_only=True)
class MixtureArgs(TaskArgs):
    mixture: str = "default"
    """Task mixture: a registered name (default, empty, random, arc-v2) or weighted generators and families
    'one_empty:2,three_random:1', 'gravity:2,upscale:1'."""

    def validate(self) -> None:
        super().validate()
        self.task_mixture()

    def task_mixture(self):
        from arc25.tasks import make_mixture

        return make_mixture(self.mixture, **self.overrides())


@dataclass(kw_only=True)
class PromptArgs(CliConfig):
    grid_encoder: str = DEFAULT_ENCODER_SPEC
    """How grids are written as text (a composition of encoders from arc25.prompts.encoders); use the model's training one."""
    prompt_style: str = DEFAULT_PROMPT_STYLE
    """Text around the examples: compact (a fine-tuned model learns the DSL from its programs) or describe-dsl."""

    def validate(self) -> None:
        super().validate()
        from arc25.prompts.encoders import get_encoder
        from arc25.prompts.prompting import check_prompt_style

        if self.grid_encoder is not None:
            get_encoder(self.grid_encoder)
        check_prompt_style(self.prompt_style)


@dataclass(kw_only=True)
class TrainedPromptArgs(PromptArgs):
    """PromptArgs for commands that prompt a model someone trained: its encoder is the default."""

    grid_encoder: Optional[str] = None
    """How grids are written as text (a composition of encoders from arc25.prompts.encoders); default: the one
    recorded beside the model (arc25_training.json), else training's default."""

    def trained_grid_encoder(self, model_path: str, adapter_path: str | None = None) -> str:
        """--grid-encoder if given, else the one recorded beside the adapter or model, else training's default: a
        model is prompted as it was trained unless the user says otherwise."""
        from arc25.models.loading import recorded_grid_encoder
        from arc25.prompts.encoders import DEFAULT_ENCODER_SPEC

        return self.grid_encoder or recorded_grid_encoder(model_path, adapter_path) or DEFAULT_ENCODER_SPEC


@dataclass(kw_only=True)
class SeqLenArgs(CliConfig):
    max_seq_len: int = 8192
    """Longest sequence in tokens (prompt + program): a longer training sample is skipped and counted, a longer
    prompt is reported as skipped; nothing is truncated."""

    def validate(self) -> None:
        super().validate()
        _at_least(self, 32, "max_seq_len")


# --- training -------------------------------------------------------------------------------------------------


# Scheduler names every transformers we support knows (a test holds them to transformers' list).
COMMON_SCHEDULERS = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
                     "inverse_sqrt", "cosine_with_min_lr", "warmup_stable_decay")
# The shapes a schedule laid over --max-minutes takes (arc25.train.time_limit.time_factor).
TIME_SCHEDULERS = ("linear", "cosine", "constant", "constant_with_warmup")


@dataclass(kw_only=True)
class ScheduleArgs(CliConfig):
    max_steps: int = 1000
    """Optimizer steps to train for (the stream is endless, so steps, not epochs; the schedule spans them)."""
    max_minutes: Optional[float] = None
    """Stop (and save) after this many minutes of training, even before --max-steps; for fixed-time comparisons."""
    batch_size: int = 16
    """Global effective batch per optimizer step; gradient accumulation makes up the rest."""
    lr_scheduler_type: str = "cosine"
    """A transformers scheduler name (linear, cosine, constant, constant_with_warmup, ...)."""
    warmup_ratio: float = 0.05
    """Fraction of --max-steps (or, with --schedule-over minutes, of --max-minutes) spent warming up the learning
    rate."""
    schedule_over: Literal["steps", "minutes"] = "steps"
    """What the learning-rate schedule (warm-up, then decay) is laid over: --max-steps, or --max-minutes of training,
    so a time-boxed run ends its decay at its time cap whatever the machine's speed (its LR then depends on that
    speed; rank 0's clock rules every rank). minutes takes linear, cosine, constant and constant_with_warmup."""

    def validate(self) -> None:
        super().validate()
        _at_least(self, 1, "max_steps", "batch_size")
        _positive(self, "max_minutes")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"--warmup-ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.schedule_over == "minutes":
            if self.max_minutes is None:
                raise ValueError("--schedule-over minutes lays the schedule over --max-minutes: set --max-minutes")
            if self.lr_scheduler_type not in TIME_SCHEDULERS:
                raise ValueError(f"--lr-scheduler-type {self.lr_scheduler_type!r} cannot be laid over minutes; with "
                                 f"--schedule-over minutes: {', '.join(TIME_SCHEDULERS)}")
        if self.lr_scheduler_type in COMMON_SCHEDULERS:
            return
        # Anything else is checked against transformers' own list, so a name it adds works here at once. Only then:
        # importing that list takes seconds, which a command that goes on to fail on another flag should not pay.
        from transformers.trainer_utils import SchedulerType

        valid = [s.value for s in SchedulerType]
        if self.lr_scheduler_type not in valid:
            raise ValueError(f"--lr-scheduler-type {self.lr_scheduler_type!r} is unknown; valid: {', '.join(valid)}")


@dataclass(kw_only=True)
class OptimArgs(CliConfig):
    learning_rate: Optional[float] = None
    """Peak learning rate; unset in finetuning.py: 1e-4 with LoRA, 2e-5 full fine-tuning a pretrained model, 1e-3
    from scratch."""
    per_device_train_batch_size: int = 1
    """Samples per forward pass on each device."""
    max_grad_norm: float = 1.0
    """Gradient clipping norm; 0 disables."""
    weight_decay: float = 0.0
    """AdamW weight decay."""

    def validate(self) -> None:
        super().validate()
        _positive(self, "learning_rate")
        _at_least(self, 1, "per_device_train_batch_size")
        _at_least(self, 0, "max_grad_norm", "weight_decay")


@dataclass(kw_only=True)
class TrainingArgs(CliConfig):
    """What a finetuning.py run does around the optimizer steps: checkpoints, logs, validation, processes."""

    resume_from_checkpoint: bool = True
    """Continue from the newest complete checkpoint in --output-dir, if there is one."""
    save_steps: int = 500
    """Save a checkpoint every this many steps."""
    logging_steps: int = 10
    """Log loss and throughput every this many steps."""
    eval_steps: int = 50
    """Evaluate loss on the fixed validation tasks every this many steps; 0 disables."""
    n_eval_tasks: int = 64
    """Size of the fixed validation set (drawn from its own seed)."""
    per_device_eval_batch_size: Optional[int] = None
    """Samples per eval forward; default = per-device train batch size."""
    dump_samples: int = 0
    """Append the first N samples each rank trains on to <output-dir>/samples/rank<R>.jsonl."""
    n_gpus: int = 1
    """GPUs you meant to use; only checked against the launched world size (a warning if they differ)."""
    ddp_timeout: int = 1800
    """Seconds a rank waits in a collective (or at start-up for the others) before the run fails: bounds the hang
    when a node stops answering. A rank that dies outright fails the others within seconds regardless."""
    device_map: Literal["None", "auto", "balanced"] = "None"
    """'auto'/'balanced' spread one process's model over all visible GPUs; 'None' for one GPU per process."""
    dataloader_num_workers: int = 1
    """Data worker processes per rank, so tasks are generated while the GPU trains."""
    completion_only_loss: Optional[bool] = None
    """True: train on the program's tokens only (trl's default); False: on the prompt's too (grids and changes),
    whose prediction needs the same reading of positions. Default: False for a model trained from scratch
    (measured faster to read grids: docs/ladder.md), True otherwise. Evaluation always scores the program
    alone."""
    prompt_loss_weight: float = 1.0
    """With the prompt in the loss (--no-completion-only-loss): what one prompt token's loss counts for against one
    program token's (the loss is their weighted mean). 1 weighs them alike; below 1 the program's tokens, the ones
    the model will write, take a larger share of each step."""
    optim: str = field(default_factory=_optim_by_default)
    """A transformers optimizer name (adamw_torch, adamw_torch_fused, adafactor, ...). Default: adamw_torch_fused
    where a CUDA GPU is visible, adamw_torch elsewhere."""

    def validate(self) -> None:
        super().validate()
        _at_least(self, 1, "save_steps", "logging_steps", "n_eval_tasks", "n_gpus", "per_device_eval_batch_size",
                   "ddp_timeout")
        _at_least(self, 0, "eval_steps", "dump_samples", "dataloader_num_workers")
        if not 0 < self.prompt_loss_weight <= 1:
            raise ValueError(f"--prompt-loss-weight {self.prompt_loss_weight} is out of range: accepted (0, 1]; "
                             f"for the program's loss alone use --completion-only-loss")
        if self.prompt_loss_weight != 1 and self.completion_only_loss:
            raise ValueError(f"--prompt-loss-weight {self.prompt_loss_weight} weighs the prompt's tokens, but "
                             f"--completion-only-loss leaves them out: drop one of the two")
        from transformers.training_args import OptimizerNames

        valid = [o.value for o in OptimizerNames]
        if self.optim not in valid:
            raise ValueError(f"--optim {self.optim!r} is unknown; valid: {', '.join(valid)}")


@dataclass(kw_only=True)
class SpeedArgs(CliConfig):
    # CUDA defaults from scripts/gpu_report.py on one H100 (qwen2.5-0.5b-shape, LoRA r=32, default mixture;
    # docs/results/2026-11-28-training-speed.md): length grouping 1.39x real tokens/s (padding 48% -> 5%), liger
    # 1.29x, both 1.61x.
    use_liger_kernel: bool = field(default_factory=_liger_by_default)
    """Liger's fused kernels (CUDA and `pip install arc25[liger]`): faster, far less memory for big vocabularies.
    Default: on when liger-kernel is installed and a CUDA GPU is visible."""
    group_by_length_window: int = field(default_factory=_group_window_by_default)
    """Sort each window of this many streamed samples by length and batch neighbours (less padding); 0 = off.
    Default: 256 when a CUDA GPU is visible (measured faster), 0 otherwise."""
    gradient_checkpointing: bool = False
    """Recompute activations in backward: less memory, ~30% slower. Off, since our sequences are short."""
    packing: bool = False
    """Padding-free batches: samples concatenated with restarting position ids (no attention across them)."""
    token_budget: Optional[int] = None
    """Padding-free micro-batches by size: each is one row of whole samples up to this many tokens (>= --max-seq-len;
    e.g. 16384). --batch-size stays the samples per optimizer step, met on average: the rows per step come from the
    mean sample length, and the loss is the mean over each step's label tokens. Leaves --per-device-train-batch-size
    at 1 and length grouping off. sdpa then runs per sample with no mask (arc25.train.attention). Default: off."""
    mixed_precision: Literal["auto", "bf16", "fp32"] = "auto"
    """Compute in bfloat16 under autocast, weights and optimizer in float32. auto: bf16 on a GPU that supports it,
    float32 on CPU; bf16: on CPU too (needs AVX512-BF16 or AMX; measured 1.1-1.3x for mini, nothing for tiny);
    fp32: float32 everywhere."""
    torch_compile: bool = False
    """Compile the model with torch.compile (CUDA; the first steps pay the compile time)."""
    compile_layers: bool = False
    """Compile each decoder layer in place rather than the whole model (arc25.train.compile): one compile per layer class,
    with dynamic shapes so rows of new lengths (--token-budget, padded batches) do not recompile; LoRA or full
    fine-tuning. The first step pays the compile time; compile.json in the output folder counts compiles and
    seconds."""
    pad_to_multiple_of: Optional[int] = None
    """Pad each batch's width up to a multiple of this (e.g. 64): few distinct shapes, so torch.compile rarely
    recompiles."""
    attn_implementation: Literal["sdpa", "eager", "flash_attention_2", "flex_attention"] = "sdpa"
    """Attention kernel; with --packing, sdpa/eager cost grows with the packed row's length squared, flash/flex
    don't."""
    throughput_skip_steps: int = 1
    """Steps the throughput summary leaves out: the first pay for start-up, autotuning and torch.compile."""
    profile_steps: int = 0
    """Profile this many steps with torch.profiler after --throughput-skip-steps and one warm-up step (main process):
    <output-dir>/profile/ gets summary.json (wall vs kernel ms per step, syncs per step, heaviest ops), ops.txt and a
    Chrome trace. Profiled steps run slower, so measure speed without it. 0 = off."""
    peak_tflops: Optional[float] = None
    """Peak dense bf16 TFLOP/s per GPU for the MFU metric; default: looked up from the GPU's name (none on CPU)."""

    def validate(self) -> None:
        super().validate()
        _at_least(self, 0, "group_by_length_window", "throughput_skip_steps", "profile_steps")
        _at_least(self, 1, "pad_to_multiple_of", "token_budget")
        _positive(self, "peak_tflops")
        if self.compile_layers and self.torch_compile:
            raise ValueError("--compile-layers compiles the decoder layers inside a model that --torch-compile "
                             "compiles whole: choose one")
        if self.compile_layers and self.gradient_checkpointing:
            raise ValueError("--compile-layers with --gradient-checkpointing: dynamo compiles a checkpointed layer "
                             "whole or not at all, and packed rows' attention runs outside compiled code, so the "
                             "layers would run uncompiled: choose one")
        if self.token_budget and self.attn_implementation == "eager":
            raise ValueError("--token-budget needs an attention that reads the packed rows' boundaries (sdpa, "
                             "flash_attention_2, flex_attention); eager would build a dense mask over the row")


@dataclass(kw_only=True)
class SolveRateArgs(CliConfig):
    solve_rate_steps: int = 0
    """Every this many steps, log the greedy solve rate on held-out synthetic tasks; 0 = at each --eval-steps."""
    n_solve_rate_tasks: int = 32
    """Held-out synthetic tasks (a fixed set from their own seed) the solve rate is measured on."""

    def validate(self) -> None:
        super().validate()
        _at_least(self, 0, "solve_rate_steps")
        _at_least(self, 1, "n_solve_rate_tasks")


# --- sampling and running programs ----------------------------------------------------------------------------


@dataclass(kw_only=True)
class GenerationArgs(CliConfig):
    max_new_tokens: int = 1024
    """Longest program (the model's reply) in tokens."""

    def validate(self) -> None:
        super().validate()
        _at_least(self, 1, "max_new_tokens")


@dataclass(kw_only=True)
class SandboxArgs(CliConfig):
    timeout_s: float = 1.0
    """Time limit per program run."""
    n_workers: Optional[int] = None
    """Sandbox worker processes (default: CPU count)."""

    def validate(self) -> None:
        super().validate()
        _positive(self, "timeout_s")
        _at_least(self, 1, "n_workers")


@dataclass(kw_only=True)
class SamplingArgs(CliConfig):
    n_samples: int = 0
    """Sampled programs per task, besides the greedy one."""
    temperature: float = 1.0
    """Sampling temperature for --n-samples."""

    def validate(self) -> None:
        super().validate()
        _at_least(self, 0, "n_samples")
        if self.n_samples and not self.temperature > 0:
            raise ValueError(f"--temperature must be > 0 for sampling, got {self.temperature}")


@dataclass(kw_only=True)
class EvalSettings(SandboxArgs, PromptArgs, SeedArgs, SeqLenArgs, GenerationArgs, SamplingArgs):
    """How programs are sampled and run: the flags of every command that evaluates (scripts/evaluate.py composes
    them), and what the library's evaluate() takes. Validated at construction, before any model loads."""

    greedy: bool = True
    """Include one greedy program per task."""
    batch_size: int = 16
    """Sequences per generate call."""

    def validate(self) -> None:
        super().validate()
        if not self.greedy and self.n_samples == 0:
            raise ValueError("nothing to sample: --no-greedy needs --n-samples >= 1")
        if self.max_seq_len <= self.max_new_tokens:
            raise ValueError(f"--max-seq-len ({self.max_seq_len}) must exceed --max-new-tokens ({self.max_new_tokens})")
        _at_least(self, 1, "batch_size")

    @property
    def n_programs(self) -> int:
        """Programs per task: the greedy one (if any) first, then the samples."""
        return int(self.greedy) + self.n_samples
