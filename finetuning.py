"""Fine-tune a language model to write ARC programs, on an endless stream of hindsight-relabelled tasks.

CPU smoke run (builtin tiny model, a minute):
    python finetuning.py --output-dir runs/smoke --max-steps 20 --max-side 8 --max-seq-len 1024 --no-log-to-wandb

A recipe (configs/recipes/) gives the settings of a known run; flags override it:
    arc25-finetune --config configs/recipes/speed_benchmark.yaml --output-dir runs/speed

One GPU (a local Hugging Face folder, LoRA by default):
    python finetuning.py --model-path /models/Qwen2.5-Coder-0.5B-Instruct --output-dir runs/qwen \
        --per-device-train-batch-size 8 --batch-size 16 --max-seq-len 4096

Several GPUs (one process each; see configs/ for DeepSpeed, FSDP and multi-node):
    accelerate launch --config_file configs/multi_gpu.yaml finetuning.py --output-dir runs/ddp \
        --model-path /models/Qwen2.5-Coder-0.5B-Instruct --n-gpus 2 --per-device-train-batch-size 8 --batch-size 16

Rerunning the same command resumes from the newest complete checkpoint with fresh tasks.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import warnings
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Literal, Optional

from arc25.cli import DEFAULT_RANDOM_SEED, CliConfig, fail, parse
from arc25.encoders import DEFAULT_ENCODER_SPEC
from arc25.prompting import DEFAULT_PROMPT_STYLE

logger = logging.getLogger("arc25.finetuning")

# CUDA defaults come from scripts/gpu_report.py on one H100 (qwen2.5-0.5b-shape, LoRA r=32, default mixture,
# README "GPU figures"): length grouping 1.39x real tokens/s (padding 48% -> 5%), liger 1.29x, both 1.61x.
# On CPU neither applies (liger is triton-only) and the defaults stay as they were.
CUDA_GROUP_WINDOW = 256


def _liger_by_default() -> bool:
    """On when liger-kernel is installed and a CUDA GPU is visible; torch is imported only in the first case."""
    import importlib.util

    if importlib.util.find_spec("liger_kernel") is None:
        return False
    import torch

    return torch.cuda.is_available()

# Config fields that mean exactly what trl's SFTConfig fields of the same name mean: copied by name (see
# sft_config), so each is declared once, here, with its help; tests check that SFTConfig still has them all.
SFT_FIELDS = ("max_steps", "per_device_train_batch_size", "logging_steps", "save_steps", "lr_scheduler_type",
              "max_grad_norm", "weight_decay", "optim", "use_liger_kernel", "torch_compile", "dataloader_num_workers")
# Config field -> peft LoraConfig field, for those that mean the same there.
LORA_FIELDS = {"lora_r": "r", "lora_dropout": "lora_dropout", "use_rslora": "use_rslora", "use_dora": "use_dora"}


@dataclass
class Config(CliConfig):
    # --- run ---
    output_dir: str = "runs/debug"
    """Folder for checkpoints, cfg.json, logs and sample dumps; rerunning into it resumes."""
    random_seed: int = DEFAULT_RANDOM_SEED
    """Seeds model init and every task stream (each rank and worker derives its own)."""
    max_steps: int = 1000
    """Optimizer steps to train for (the stream is endless, so steps, not epochs)."""
    max_minutes: Optional[float] = None
    """Stop (and save) after this many minutes of training, even before --max-steps; for fixed-time comparisons."""
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
    log_to_wandb: bool = True
    """Log to Weights & Biases (offline under --output-dir without credentials or network); else tensorboard."""
    wandb_project: str = "arc25"
    """W&B project name."""
    dump_samples: int = 0
    """Append the first N samples each rank trains on to <output-dir>/samples/rank<R>.jsonl."""
    # --- model ---
    model_path: str = "tiny"
    """A local Hugging Face model folder, or a builtin: tiny, small, qwen2.5-0.5b-shape."""
    adapter_path: Optional[str] = None
    """A LoRA adapter folder to continue training (checked against the base and seed it records)."""
    device_map: Literal["None", "auto", "balanced"] = "None"
    """'auto'/'balanced' spread one process's model over all visible GPUs; 'None' for one GPU per process."""
    torch_dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    """Weights dtype; auto = bfloat16 for LoRA on a bf16 GPU, float32 otherwise (mixed precision does the rest)."""
    gradient_checkpointing: bool = False
    """Recompute activations in backward: less memory, ~30% slower. Off, since our sequences are short."""
    use_liger_kernel: bool = field(default_factory=_liger_by_default)
    """Liger's fused kernels (CUDA and `pip install arc25[liger]`): faster, far less memory for big vocabularies.
    Default: on when liger-kernel is installed and a CUDA GPU is visible."""
    # --- LoRA ---
    use_lora: bool = True
    """Train LoRA adapters (pretrained folders and qwen2.5-0.5b-shape); tiny/small train from scratch in full."""
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
    # --- optimisation ---
    n_gpus: int = 1
    """GPUs you meant to use; only checked against the launched world size (a warning if they differ)."""
    batch_size: int = 16
    """Global effective batch per optimizer step; gradient accumulation makes up the rest."""
    per_device_train_batch_size: int = 1
    """Samples per forward pass on each device."""
    per_device_eval_batch_size: Optional[int] = None
    """Samples per eval forward; default = per-device train batch size."""
    max_seq_len: int = 8192
    """Longest sample in tokens; longer samples are skipped and counted, never truncated."""
    completion_only_loss: Optional[bool] = None
    """True: train on the program's tokens only (trl's default); False: on the prompt's too (grids and changes),
    whose prediction needs the same reading of positions. Default: False for tiny/small from scratch (measured
    faster to read grids: README "Does it learn?"), True otherwise. Evaluation always scores the program alone."""
    packing: bool = False
    """Padding-free batches: samples concatenated with restarting position ids (no attention across them)."""
    dataloader_num_workers: int = 1
    """Data worker processes per rank, so tasks are generated while the GPU trains."""
    learning_rate: Optional[float] = None
    """Peak learning rate; default 1e-4 with LoRA, 2e-5 full fine-tuning a pretrained model, 1e-3 from scratch."""
    lr_scheduler_type: str = "cosine"
    """A transformers scheduler name (linear, cosine, constant, constant_with_warmup, ...)."""
    warmup_ratio: float = 0.05
    """Fraction of --max-steps spent warming up the learning rate."""
    max_grad_norm: float = 1.0
    """Gradient clipping norm."""
    optim: str = "adamw_torch"
    """A transformers optimizer name (adamw_torch, adamw_torch_fused, adafactor, ...)."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    # --- data ---
    grid_encoder: str = DEFAULT_ENCODER_SPEC
    """How grids are written as text (a composition of encoders from arc25.encoders)."""
    prompt_style: str = DEFAULT_PROMPT_STYLE
    """Text around the examples: compact (a fine-tuned model learns the DSL from its programs) or describe-dsl."""
    mixture: str = "default"
    """Task mixture: a registered name (default, empty, random) or weighted generators 'one_empty:2,three_random:1'."""
    n_inputs: Optional[int] = None
    """Override: input grids per task, for every generator."""
    min_side: Optional[int] = None
    """Override: smallest grid side (1-30)."""
    max_side: Optional[int] = None
    """Override: largest grid side (1-30)."""
    min_draws: Optional[int] = None
    """Override: fewest DSL draws per program."""
    max_draws: Optional[int] = None
    """Override: most DSL draws per program."""
    draw_functions: Optional[str] = None
    """Override: comma-separated DSL functions programs draw with."""
    # --- speed ---
    throughput_skip_steps: int = 1
    """Steps the throughput summary leaves out: the first pay for start-up, autotuning and torch.compile."""
    profile_steps: int = 0
    """Profile this many steps with torch.profiler after --throughput-skip-steps and one warm-up step (main process):
    <output-dir>/profile/ gets summary.json (wall vs kernel ms per step, syncs per step, heaviest ops), ops.txt and a
    Chrome trace. Profiled steps run slower, so measure speed without it. 0 = off."""
    peak_tflops: Optional[float] = None
    """Peak dense bf16 TFLOP/s per GPU for the MFU metric; default: looked up from the GPU's name (none on CPU)."""
    group_by_length_window: Optional[int] = None
    """Sort each window of this many streamed samples by length and batch neighbours (less padding); 0 = off.
    Default: 256 on CUDA (measured faster), 0 on CPU."""
    torch_compile: bool = False
    """Compile the model with torch.compile (CUDA; the first steps pay the compile time)."""
    pad_to_multiple_of: Optional[int] = None
    """Pad each batch's width up to a multiple of this (e.g. 64): few distinct shapes, so torch.compile rarely recompiles."""
    attn_implementation: Literal["sdpa", "eager", "flash_attention_2", "flex_attention"] = "sdpa"
    """Attention kernel; with --packing, sdpa/eager cost grows with the packed row's length squared, flash/flex don't."""
    # --- evaluation ---
    solve_rate_steps: int = 0
    """Every this many steps, log the greedy solve rate on held-out synthetic tasks; 0 = at each --eval-steps."""
    n_solve_rate_tasks: int = 32
    """Held-out synthetic tasks (a fixed set from their own seed) the solve rate is measured on."""

    @classmethod
    def from_cli(cls, args: list[str] | None = None) -> "Config":
        """Flags, over an optional --config recipe; a bad value exits 2 with one line naming it and what is accepted."""
        return parse(cls, args, description=__doc__)

    def validate(self) -> None:
        """Raise a one-line ValueError for any flag value we can check without loading anything heavy."""
        for name in ("max_steps", "save_steps", "logging_steps", "batch_size", "per_device_train_batch_size",
                     "n_gpus", "lora_r", "n_eval_tasks"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ValueError(f"--max-minutes must be > 0, got {self.max_minutes}")
        for name in ("eval_steps", "dump_samples", "dataloader_num_workers", "throughput_skip_steps", "profile_steps"):
            if getattr(self, name) < 0:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(self, name)}")
        if self.batch_size % self.per_device_train_batch_size:
            raise ValueError(
                f"--batch-size {self.batch_size} is not a multiple of --per-device-train-batch-size "
                f"{self.per_device_train_batch_size}"
            )
        if self.profile_steps and self.max_steps < self.throughput_skip_steps + 1 + self.profile_steps:
            raise ValueError(f"--profile-steps {self.profile_steps} needs --max-steps >= "
                             f"{self.throughput_skip_steps + 1 + self.profile_steps} (--throughput-skip-steps "
                             f"{self.throughput_skip_steps} + 1 warm-up + the profiled steps), got {self.max_steps}")
        if self.max_seq_len < 32:
            raise ValueError(f"--max-seq-len must be >= 32, got {self.max_seq_len}")
        if self.learning_rate is not None and not self.learning_rate > 0:
            raise ValueError(f"--learning-rate must be > 0, got {self.learning_rate}")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"--warmup-ratio must be in [0, 1), got {self.warmup_ratio}")
        # transformers' own lists, so a name it adds works here at once (not Literals: importing them is slow).
        from transformers.trainer_utils import SchedulerType
        from transformers.training_args import OptimizerNames

        valid = [o.value for o in OptimizerNames]
        if self.optim not in valid:
            raise ValueError(f"--optim {self.optim!r} is unknown; valid: {', '.join(valid)}")
        valid = [s.value for s in SchedulerType]
        if self.lr_scheduler_type not in valid:
            raise ValueError(f"--lr-scheduler-type {self.lr_scheduler_type!r} is unknown; valid: {', '.join(valid)}")
        # Cheap to build, and building is the validation: unknown names fail here, before any model loads.
        from arc25.encoders import get_encoder
        from arc25.models import check_model_path
        from arc25.prompting import check_prompt_style

        get_encoder(self.grid_encoder)
        check_prompt_style(self.prompt_style)
        self.task_mixture()
        check_model_path(self.model_path)
        if self.peak_tflops is not None and not self.peak_tflops > 0:
            raise ValueError(f"--peak-tflops must be > 0, got {self.peak_tflops}")
        if self.pad_to_multiple_of is not None and self.pad_to_multiple_of < 1:
            raise ValueError(f"--pad-to-multiple-of must be >= 1, got {self.pad_to_multiple_of}")
        if self.group_by_length_window is not None and self.group_by_length_window < 0:
            raise ValueError(f"--group-by-length-window must be >= 0, got {self.group_by_length_window}")
        if self.solve_rate_steps < 0:
            raise ValueError(f"--solve-rate-steps must be >= 0, got {self.solve_rate_steps}")
        if self.n_solve_rate_tasks < 1:
            raise ValueError(f"--n-solve-rate-tasks must be >= 1, got {self.n_solve_rate_tasks}")

    def task_mixture(self):
        from arc25.tasks import make_mixture

        functions = tuple(f.strip() for f in self.draw_functions.split(",")) if self.draw_functions else None
        return make_mixture(
            self.mixture, n_inputs=self.n_inputs, min_side=self.min_side, max_side=self.max_side,
            min_draws=self.min_draws, max_draws=self.max_draws, functions=functions,
        )

    def training_info(self) -> dict:
        """What a model or adapter trained by this run records, and later runs must match."""
        return dict(model_path=self.model_path, random_seed=self.random_seed, prompt_style=self.prompt_style,
                    grid_encoder=self.grid_encoder)

    def sft_config(self, run: SimpleNamespace):
        """trl's SFTConfig for this run: the shared fields by name, then what arc25 resolves or fixes."""
        from trl import SFTConfig

        from arc25.training import step_arguments

        # transformers 5.2x renamed gradient_checkpointing (and warns on the old name); 5.17 knows only the old one.
        names = {f.name for f in dataclasses.fields(SFTConfig)}
        checkpointing = "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"
        return SFTConfig(
            **{name: getattr(self, name) for name in SFT_FIELDS},
            **step_arguments(run.cuda),
            **{checkpointing: self.gradient_checkpointing,
               f"{checkpointing}_kwargs": {"use_reentrant": False} if self.gradient_checkpointing else None},
            output_dir=str(run.output_dir),
            seed=self.random_seed,
            per_device_eval_batch_size=self.per_device_eval_batch_size or self.per_device_train_batch_size,
            gradient_accumulation_steps=run.grad_accum,
            learning_rate=run.lr,
            warmup_steps=round(self.warmup_ratio * self.max_steps),
            # SFTConfig's own defaults (bf16 on, checkpointing on) are not ours: say what we mean.
            bf16=run.bf16,
            fp16=False,
            # Without CUDA, use_cpu is what makes a multi-process launch form a gloo group instead of N lone runs.
            use_cpu=not run.cuda,
            eval_strategy="steps" if self.eval_steps else "no",
            eval_steps=self.eval_steps or None,
            save_strategy="steps",
            report_to=run.report_to,
            disable_tqdm=False,
            # Each rank reads its own shards of the stream; dispatching from rank 0 would serialise data.
            accelerator_config={"dispatch_batches": False, "split_batches": False},
            ddp_find_unused_parameters=False,
            # The stream resumes from fresh seeds, so the trainer must not replay batches to skip them.
            ignore_data_skip=True,
            remove_unused_columns=False,
            # Examples arrive tokenised with prompt labels already -100 (the loss covers only the code), and
            # longer ones were skipped upstream, so trl must neither re-tokenise nor truncate.
            dataset_kwargs={"skip_prepare_dataset": True},
            max_length=None,
            # Our BatchCollator does padding-free batching itself (--packing); trl refuses a custom collator
            # when its own flag is on, and the flag does nothing else for a prepared dataset.
            padding_free=False,
        )

    def lora_config(self):
        """peft's LoraConfig for a new adapter."""
        from peft import LoraConfig

        init = True if self.lora_weight_initialization == "default" else self.lora_weight_initialization
        return LoraConfig(
            **{theirs: getattr(self, ours) for ours, theirs in LORA_FIELDS.items()},
            lora_alpha=self.lora_alpha or self.lora_r,
            target_modules=[m.strip() for m in self.lora_target_modules.split(",")],
            init_lora_weights=init, task_type="CAUSAL_LM",
        )


def prepare(cfg: Config) -> SimpleNamespace:
    """Check everything about the request that can be wrong, before any model loads; return the resolved run."""
    import torch
    import transformers

    from arc25 import data, lora, models, training

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    transformers.logging.set_verbosity_warning()
    output_dir = training.check_output_dir(cfg.output_dir)
    rank, world = training.rank_and_world()
    if cfg.device_map != "None" and world > 1:
        raise ValueError(f"--device-map {cfg.device_map} spreads one process over GPUs; launch 1 process, not {world}")
    per_step = cfg.per_device_train_batch_size * world
    if cfg.batch_size % per_step:
        raise ValueError(
            f"--batch-size {cfg.batch_size} is not divisible by --per-device-train-batch-size "
            f"{cfg.per_device_train_batch_size} x {world} processes"
        )
    grad_accum = cfg.batch_size // per_step
    if cfg.n_gpus != world and cfg.device_map == "None":
        warnings.warn(f"--n-gpus {cfg.n_gpus} but {world} process(es) were launched; the launch wins")
    cuda = torch.cuda.is_available()
    if cfg.group_by_length_window is None:
        cfg.group_by_length_window = CUDA_GROUP_WINDOW if cuda else 0
    if cfg.use_liger_kernel:
        if not cuda:
            raise ValueError("--use-liger-kernel needs a CUDA GPU (its kernels are triton); none is visible")
        try:
            import liger_kernel  # noqa: F401
        except ImportError:
            raise ValueError("--use-liger-kernel needs liger-kernel: pip install 'arc25[liger]'") from None
    bf16 = cuda and torch.cuda.is_bf16_supported()
    from_scratch = cfg.model_path in models.TRAINED_FROM_SCRATCH
    use_lora = bool(cfg.adapter_path) or (cfg.use_lora and not from_scratch)
    lr = cfg.learning_rate or (1e-4 if use_lora else 1e-3 if from_scratch else 2e-5)
    dtype = cfg.torch_dtype if cfg.torch_dtype != "auto" else ("bfloat16" if bf16 and use_lora else "float32")

    tokenizer = models.load_tokenizer(cfg.model_path)
    if cfg.adapter_path:
        # The check evaluation and merging make: the recorded base and seed, then the tensor shapes.
        lora.check_adapter(cfg.model_path, tokenizer, cfg.adapter_path, model_seed=cfg.random_seed)
        models.check_matches_training(cfg.adapter_path, cfg.prompt_style, cfg.grid_encoder)
    completion_only = cfg.completion_only_loss if cfg.completion_only_loss is not None else not from_scratch
    spec = data.StreamSpec(cfg.task_mixture(), cfg.grid_encoder, cfg.max_seq_len, cfg.prompt_style,
                           completion_only_loss=completion_only)
    fit = data.probe(tokenizer, spec, cfg.random_seed)  # raises if nothing fits
    if fit["fit_fraction"] < 0.25:
        logger.warning(
            "only %.1f%% of tasks fit in --max-seq-len %d (mean %d tokens); the rest are skipped, which slows the "
            "data workers: raise --max-seq-len or shrink tasks with --max-side/--n-inputs",
            100 * fit["fit_fraction"], cfg.max_seq_len, fit["tokens_mean"])
    resume = training.find_checkpoint(output_dir) if cfg.resume_from_checkpoint else None
    resume_step = resume[1] if resume else 0
    report_to, tracker = training.setup_tracking(cfg.log_to_wandb, output_dir, cfg.wandb_project)

    resolved = dict(
        dataclasses.asdict(cfg), world_size=world, gradient_accumulation_steps=grad_accum, learning_rate=lr,
        use_lora=use_lora, torch_dtype=dtype, bf16=bf16, completion_only_loss=completion_only,
        resume_from=str(resume[0]) if resume else None,
        resume_step=resume_step, tracker=tracker, git_commit=training.git_commit(),
        versions={m.__name__: m.__version__ for m in (torch, transformers)},
        probe=fit,
    )
    if rank == 0:
        (output_dir / "cfg.json").write_text(json.dumps(resolved, indent=2))
    logger.info("run: %s", json.dumps({k: resolved[k] for k in (
        "model_path", "world_size", "gradient_accumulation_steps", "learning_rate", "use_lora", "torch_dtype",
        "completion_only_loss",
        "resume_step", "tracker", "probe")}))

    return SimpleNamespace(
        output_dir=output_dir, world=world, grad_accum=grad_accum, cuda=cuda, bf16=bf16, use_lora=use_lora, lr=lr,
        dtype=dtype, tokenizer=tokenizer, spec=spec, resume=resume, resume_step=resume_step, report_to=report_to,
    )


def main(cfg: Config, run: SimpleNamespace | None = None) -> dict:
    """Train; returns the final train metrics for callers such as tests and sweeps."""
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    from arc25 import data, lora, models, training

    run = run or prepare(cfg)
    output_dir, tokenizer, spec, resume, resume_step = run.output_dir, run.tokenizer, run.spec, run.resume, run.resume_step

    # --- model ---
    model = models.load_model(
        cfg.model_path, tokenizer, dtype=run.dtype, seed=cfg.random_seed,
        device_map=None if cfg.device_map == "None" else cfg.device_map, attn_implementation=cfg.attn_implementation,
    )
    if cfg.adapter_path:
        model = lora.apply_adapter(model, cfg.adapter_path, trainable=True)
    elif run.use_lora:
        from peft import get_peft_model

        model = get_peft_model(model, cfg.lora_config())
    trainable, total = models.count_parameters(model)
    logger.info("parameters: %s trainable of %s", f"{trainable:,}", f"{total:,}")

    # --- data ---
    train_ds = data.train_dataset(tokenizer, spec, cfg.random_seed, run.world, cfg.dataloader_num_workers, resume_step,
                                  cfg.group_by_length_window, cfg.per_device_train_batch_size)
    eval_ds = data.eval_dataset(tokenizer, spec, cfg.random_seed, cfg.n_eval_tasks) if cfg.eval_steps else None
    collator = data.BatchCollator(DataCollatorForLanguageModeling(
        pad_token_id=tokenizer.pad_token_id, padding_free=cfg.packing, pad_to_multiple_of=cfg.pad_to_multiple_of))

    from arc25.metrics import ThroughputCallback

    throughput = ThroughputCallback(peak_tflops=cfg.peak_tflops, skip_first_steps=cfg.throughput_skip_steps)
    callbacks = []
    if cfg.max_minutes:
        from arc25.time_limit import TimeLimitCallback

        callbacks.append(TimeLimitCallback(cfg.max_minutes))
    if cfg.profile_steps:
        from arc25.profiling import StepProfiler

        callbacks.append(StepProfiler(output_dir, cfg.profile_steps, skip_steps=cfg.throughput_skip_steps))
    solve_rate = None
    if cfg.solve_rate_steps or cfg.eval_steps:
        from arc25.solve_rate import SolveRateCallback

        # Registered after the throughput observer: its step's clock is closed before generation starts.
        solve_rate = SolveRateCallback(
            tokenizer, cfg.task_mixture(), seed=cfg.random_seed, n_tasks=cfg.n_solve_rate_tasks,
            every_n_steps=cfg.solve_rate_steps or cfg.eval_steps, encoder_spec=cfg.grid_encoder,
            prompt_style=cfg.prompt_style, max_seq_len=cfg.max_seq_len,
        )
        callbacks.append(solve_rate)
    # Each evaluation also logs the loss per token class (grammar, function, colour, row, column) beside guessing.
    from arc25.token_classes import EvalTokenClasses

    token_classes = EvalTokenClasses(tokenizer, cfg.task_mixture()) if cfg.eval_steps else None
    trainer = training.make_trainer_class()(
        model=model, args=cfg.sft_config(run), train_dataset=train_ds, eval_dataset=eval_ds, processing_class=tokenizer,
        data_collator=collator, observers=[throughput], callbacks=callbacks, training_info=cfg.training_info(),
        dump_samples=cfg.dump_samples, dump_dir=output_dir / "samples", run_start_step=resume_step,
        token_classes=token_classes,
    )
    if solve_rate is not None:
        solve_rate.bind(trainer)  # it logs through the trainer, so the rates reach the console and every tracker
    result = trainer.train(resume_from_checkpoint=str(resume[0]) if resume else None)
    trainer.save_model(str(output_dir / "final"))
    if trainer.is_world_process_zero():
        models.write_training_info(output_dir / "final", **cfg.training_info())
    metrics = dict(result.metrics, global_step=trainer.state.global_step, skipped_too_long=trainer.skipped_samples)
    if trainer.is_world_process_zero():
        (output_dir / "train_metrics.json").write_text(json.dumps(metrics, indent=2))
        # Every logged dict (loss, throughput, eval loss, solve rate) in order: what curves are plotted from.
        with open(output_dir / "log_history.jsonl", "w") as f:
            f.writelines(json.dumps(entry) + "\n" for entry in trainer.state.log_history)
    # Tear the process group down ourselves: left to interpreter exit, gloo's threads can abort a rank
    # ("terminate called without an active exception") after a run that otherwise succeeded.
    trainer.accelerator.wait_for_everyone()
    trainer.accelerator.state.destroy_process_group()
    return metrics


def cli(argv: list[str] | None = None) -> None:
    """arc25-finetune (or python finetuning.py): bad input exits 2 with one line, before any model loads."""
    config = Config.from_cli(argv)
    try:
        plan = prepare(config)
    except ValueError as err:
        fail(str(err))
    main(config, plan)


if __name__ == "__main__":
    cli()
