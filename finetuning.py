"""Fine-tune a language model to write ARC programs, on an endless stream of hindsight-relabelled tasks.

CPU smoke run (builtin tiny model, a minute):
    python finetuning.py --output-dir runs/smoke --max-steps 20 --max-side 8 --max-seq-len 1024 --no-log-to-wandb

A recipe (configs/recipes/) gives the settings of a known run; flags override it:
    arc25-finetune --config configs/recipes/speed_benchmark.yaml --output-dir runs/speed

One GPU (a local Hugging Face folder: LoRA on pretrained weights unless --no-use-lora):
    python finetuning.py --model-path /models/Qwen2.5-Coder-0.5B-Instruct --output-dir runs/qwen \
        --per-device-train-batch-size 8 --batch-size 16 --max-seq-len 4096

Several GPUs (one process each; see configs/ for DeepSpeed, FSDP and multi-node):
    accelerate launch --config_file configs/multi_gpu.yaml finetuning.py --output-dir runs/ddp \
        --model-path /models/Qwen2.5-Coder-0.5B-Instruct --n-gpus 2 --per-device-train-batch-size 8 --batch-size 16

Rerunning the same command resumes from the newest complete checkpoint with fresh tasks.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import logging
import time
import warnings
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from arc25.cli.args import (AdapterArgs, LoraArgs, MixtureArgs, ModelArgs, OptimArgs, OutputArgs, PromptArgs,
                        ScheduleArgs, SeedArgs, SeqLenArgs, SolveRateArgs, SpeedArgs, TrackingArgs, TrainingArgs)
from arc25.cli import fail, parse

logger = logging.getLogger("arc25.finetuning")

# Config fields that mean exactly what trl's SFTConfig fields of the same name mean: copied by name (see
# sft_config), so each is declared once, in its group, with its help; tests check that SFTConfig still has them all.
SFT_FIELDS = ("max_steps", "per_device_train_batch_size", "logging_steps", "save_steps", "lr_scheduler_type",
              "max_grad_norm", "weight_decay", "optim", "use_liger_kernel", "torch_compile", "dataloader_num_workers",
              "ddp_timeout")


# Bases are listed last-shown-first: --help lists the run's flags first, speed's last.
@dataclass(kw_only=True)
class Config(SolveRateArgs, SpeedArgs, TrainingArgs, OptimArgs, ScheduleArgs, SeqLenArgs, PromptArgs, MixtureArgs,
             LoraArgs, AdapterArgs, ModelArgs, TrackingArgs, SeedArgs, OutputArgs):
    """finetuning.py's settings: the argument groups of arc25.cli.args, each checked by its own validate()."""

    @classmethod
    def from_cli(cls, args: list[str] | None = None) -> "Config":
        """Flags, over an optional --config recipe; a bad value exits 2 with one line naming it and what is accepted."""
        return parse(cls, args, description=__doc__)

    def validate(self) -> None:
        """The groups' checks, then what ties them together; nothing heavy loads."""
        super().validate()
        if self.token_budget:
            if self.per_device_train_batch_size != 1:
                raise ValueError(f"--token-budget makes each micro-batch one packed row: leave "
                                 f"--per-device-train-batch-size at 1, got {self.per_device_train_batch_size}")
            if self.token_budget < self.max_seq_len:
                raise ValueError(f"--token-budget {self.token_budget} is below --max-seq-len {self.max_seq_len}: "
                                 f"every sample must fit a row alone")
        elif self.batch_size % self.per_device_train_batch_size:
            raise ValueError(f"--batch-size {self.batch_size} is not a multiple of --per-device-train-batch-size "
                             f"{self.per_device_train_batch_size}")
        needed = self.throughput_skip_steps + 1 + self.profile_steps
        if self.profile_steps and self.max_steps < needed:
            raise ValueError(f"--profile-steps {self.profile_steps} needs --max-steps >= {needed} "
                             f"(--throughput-skip-steps {self.throughput_skip_steps} + 1 warm-up + the profiled "
                             f"steps), got {self.max_steps}")


@dataclass
class Run:
    """What prepare() resolved: the launch, the model to load, the data stream and where to resume."""

    output_dir: Path
    world: int
    grad_accum: int
    cuda: bool
    bf16: bool
    lr: float
    attn: str
    """The attention implementation the model loads with (see attention_for)."""
    model: object  # arc25.models.loading.ModelPlan
    spec: object  # arc25.train.data.StreamSpec
    resume: tuple[Path, int] | None
    report_to: list[str]
    info: dict
    """What the saved model or adapter records (arc25_training.json)."""

    @property
    def resume_step(self) -> int:
        return self.resume[1] if self.resume else 0


def attention_for(cfg: Config, cuda: bool) -> str:
    """--attn-implementation, or for sdpa with packed rows, sdpa per packed sample (arc25.train.attention's).

    No dense mask over the row. --packing on CUDA keeps plain sdpa until the GPU report has measured the varlen path
    there; --token-budget, whose long rows make a dense mask costly, takes it everywhere.
    """
    if cfg.attn_implementation == "sdpa" and (cfg.token_budget or (cfg.packing and not cuda)):
        from arc25.train.attention import NAME

        return NAME
    return cfg.attn_implementation


def defaults_line(cfg: Config, run: "Run") -> str:
    """The settings whose defaults depend on the machine or the model, as resolved for this run, in one line."""
    return (f"resolved: optim={cfg.optim} liger={'on' if cfg.use_liger_kernel else 'off'} "
            f"group_by_length_window={cfg.group_by_length_window} dtype={run.model.dtype} "
            f"bf16_autocast={'on' if run.bf16 else 'off'} training={run.model.training_mode()} attention={run.attn} "
            f"schedule={cfg.lr_scheduler_type} over "
            + (f"{cfg.max_minutes:g} min" if cfg.schedule_over == "minutes" else f"{cfg.max_steps} steps"))


def prepare(cfg: Config) -> Run:
    """Check everything about the request that can be wrong, before any model loads; return the resolved run."""
    import torch
    import transformers

    from arc25.models import loading
    from arc25.train import data, distributed
    from arc25.train.run import check_output_dir, find_checkpoint, git_commit, rank_and_world, setup_tracking

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    transformers.logging.set_verbosity_warning()
    output_dir = check_output_dir(cfg.output_dir)
    rank, world = rank_and_world()
    if cfg.device_map != "None" and world > 1:
        raise ValueError(f"--device-map {cfg.device_map} spreads one process over GPUs; launch 1 process, not {world}")
    per_step = cfg.per_device_train_batch_size * world
    if cfg.batch_size % per_step and not cfg.token_budget:
        raise ValueError(f"--batch-size {cfg.batch_size} is not divisible by --per-device-train-batch-size "
                         f"{cfg.per_device_train_batch_size} x {world} processes")
    if cfg.n_gpus != world and cfg.device_map == "None":
        warnings.warn(f"--n-gpus {cfg.n_gpus} but {world} process(es) were launched; the launch wins")
    cuda = torch.cuda.is_available()
    distributed.check_launch(world, cuda)
    distributed.join_cpu_group(world, cuda, cfg.ddp_timeout)
    if cfg.use_liger_kernel:
        if not cuda:
            raise ValueError("--use-liger-kernel needs a CUDA GPU (its kernels are triton); none is visible")
        try:
            import liger_kernel  # noqa: F401
        except ImportError:
            raise ValueError("--use-liger-kernel needs liger-kernel: pip install 'arc25[liger]'") from None
    bf16 = loading.autocast_bf16(cfg.mixed_precision, cuda)
    # The adapter (if any) is checked against its recorded base and seed here, before weights load. Frozen weights
    # go to bfloat16 on a GPU only: CPU autocast is measured on float32 weights.
    model = loading.prepare(cfg.model_path, cfg.adapter_path, training=True, use_lora=cfg.use_lora,
                            torch_dtype=cfg.torch_dtype, bf16=bf16 and cuda, model_seed=cfg.random_seed,
                            prompt_style=cfg.prompt_style, grid_encoder=cfg.grid_encoder)
    lr = cfg.learning_rate or (1e-4 if model.use_lora else 1e-3 if model.from_scratch else 2e-5)
    completion_only = cfg.completion_only_loss if cfg.completion_only_loss is not None else not model.from_scratch
    if completion_only and cfg.prompt_loss_weight != 1:
        raise ValueError(f"--prompt-loss-weight {cfg.prompt_loss_weight} weighs the prompt's tokens, but this "
                         f"model trains on the program's alone by default: add --no-completion-only-loss")
    spec = data.StreamSpec(cfg.task_mixture(), cfg.grid_encoder, cfg.max_seq_len, cfg.prompt_style,
                           completion_only_loss=completion_only, prompt_loss_weight=cfg.prompt_loss_weight)
    fit = data.probe(model.tokenizer, spec, cfg.random_seed)  # raises if nothing fits
    if fit["fit_fraction"] < 0.25:
        logger.warning(
            "only %.1f%% of tasks fit in --max-seq-len %d (mean %d tokens); the rest are skipped, which slows the "
            "data workers: raise --max-seq-len or shrink tasks with --max-side/--n-inputs",
            100 * fit["fit_fraction"], cfg.max_seq_len, fit["tokens_mean"])
    grad_accum = cfg.batch_size // per_step
    if cfg.token_budget:
        grad_accum = data.micro_batches_per_step(cfg.batch_size, world, cfg.token_budget, fit["fit_tokens_mean"])
        per_row = cfg.token_budget / fit["fit_tokens_mean"]
        logger.info("--token-budget %d: ~%.1f samples per row, %d rows per step and rank: ~%.0f samples per step "
                    "(--batch-size %d)", cfg.token_budget, per_row, grad_accum, grad_accum * world * per_row,
                    cfg.batch_size)
        floor = world * per_row  # a step holds at least one row per rank
        if floor > 1.5 * cfg.batch_size:
            logger.warning(
                "--batch-size %d is below one --token-budget row per rank: each step holds ~%.0f samples over %d "
                "rank(s); for ~%d, set --token-budget to about %d", cfg.batch_size, floor, world, cfg.batch_size,
                max(cfg.max_seq_len, round(cfg.batch_size / world * fit["fit_tokens_mean"])))
    resume = find_checkpoint(output_dir) if cfg.resume_from_checkpoint else None
    report_to, tracker = setup_tracking(cfg.log_to_wandb, output_dir, cfg.wandb_project)
    run = Run(output_dir=output_dir, world=world, grad_accum=grad_accum, cuda=cuda, bf16=bf16, lr=lr,
              attn=attention_for(cfg, cuda), model=model, spec=spec, resume=resume, report_to=report_to,
              info=model.training_info(prompt_style=cfg.prompt_style, grid_encoder=cfg.grid_encoder))

    resolved = dict(
        dataclasses.asdict(cfg), world_size=world, gradient_accumulation_steps=run.grad_accum, learning_rate=lr,
        use_lora=model.use_lora, training_mode=model.training_mode(), attn_implementation=run.attn,
        trained_from=model.builtin, from_scratch=model.from_scratch, torch_dtype=model.dtype,
        bf16=bf16, completion_only_loss=completion_only, resume_from=str(resume[0]) if resume else None,
        resume_step=run.resume_step, tracker=tracker, git_commit=git_commit(),
        versions={m.__name__: m.__version__ for m in (torch, transformers)}, probe=fit,
    )
    if rank == 0:
        (output_dir / "cfg.json").write_text(json.dumps(resolved, indent=2))
    logger.info("run: %s", json.dumps({k: resolved[k] for k in (
        "model_path", "world_size", "gradient_accumulation_steps", "learning_rate", "use_lora", "torch_dtype",
        "completion_only_loss", "resume_step", "tracker", "probe")}))
    logger.info(defaults_line(cfg, run))
    return run


def sft_config(cfg: Config, run: Run):
    """trl's SFTConfig for this run: the shared fields by name, then what arc25 resolves or fixes."""
    from trl import SFTConfig

    from arc25.models.compat import checkpointing_field
    from arc25.train.trainer import step_arguments

    checkpointing = checkpointing_field(SFTConfig)
    return SFTConfig(
        **{name: getattr(cfg, name) for name in SFT_FIELDS},
        **step_arguments(run.cuda),
        **{checkpointing: cfg.gradient_checkpointing,
           f"{checkpointing}_kwargs": {"use_reentrant": False} if cfg.gradient_checkpointing else None},
        output_dir=str(run.output_dir),
        seed=cfg.random_seed,
        per_device_eval_batch_size=cfg.per_device_eval_batch_size or cfg.per_device_train_batch_size,
        gradient_accumulation_steps=run.grad_accum,
        learning_rate=run.lr,
        warmup_steps=round(cfg.warmup_ratio * cfg.max_steps),
        # SFTConfig's own defaults (bf16 on, checkpointing on) are not ours: say what we mean.
        bf16=run.bf16,
        fp16=False,
        # Without CUDA, use_cpu is what makes a multi-process launch form a gloo group instead of N lone runs.
        use_cpu=not run.cuda,
        eval_strategy="steps" if cfg.eval_steps else "no",
        eval_steps=cfg.eval_steps or None,
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


def callbacks(cfg: Config, run: Run) -> list:
    """The trainer callbacks, in the order the trainer calls them at each step's end.

    The throughput observer comes first: it closes the step's clock before the solve rate generates and runs
    programs, so that work is not timed as training (the profiler, too, sees only the step).
    """
    from arc25.train.metrics import ThroughputCallback

    out = [ThroughputCallback(peak_tflops=cfg.peak_tflops, skip_first_steps=cfg.throughput_skip_steps)]
    if cfg.max_minutes:
        from arc25.train.time_limit import TimeLimitCallback

        out.append(TimeLimitCallback(cfg.max_minutes))
    if cfg.compile_layers or cfg.torch_compile:
        from arc25.train.compile import CompileStats

        out.append(CompileStats())
    if cfg.profile_steps:
        from arc25.train.profiling import StepProfiler

        out.append(StepProfiler(run.output_dir, cfg.profile_steps, skip_steps=cfg.throughput_skip_steps))
    if cfg.solve_rate_steps or cfg.eval_steps:
        from arc25.train.solve_rate import SolveRateCallback

        out.append(SolveRateCallback(
            run.model.tokenizer, cfg.task_mixture(), seed=cfg.random_seed, n_tasks=cfg.n_solve_rate_tasks,
            every_n_steps=cfg.solve_rate_steps or cfg.eval_steps, encoder_spec=cfg.grid_encoder,
            prompt_style=cfg.prompt_style, max_seq_len=cfg.max_seq_len,
        ))
    return out


def build_trainer(cfg: Config, run: Run):
    """The model (weights, adapter), the task stream and the trainer, ready to train."""
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    from arc25 import models
    from arc25.models import loading
    from arc25.train import data, distributed
    from arc25.train.metrics import ThroughputCallback
    from arc25.train.solve_rate import SolveRateCallback
    from arc25.train.token_classes import EvalTokenClasses
    from arc25.train.trainer import ArcTrainer

    tokenizer = run.model.tokenizer
    padding_free = cfg.packing or bool(cfg.token_budget)
    from arc25.train import attention

    if run.attn == attention.NAME:
        attention.register()
    model = loading.load_model(run.model, lora=cfg, trainable=True, attn_implementation=run.attn,
                               device_map=None if cfg.device_map == "None" else cfg.device_map)
    if cfg.compile_layers:
        from arc25.train.compile import compile_layers

        compile_layers(model)
    trainable, total = models.count_parameters(model)
    logger.info("parameters: %s trainable of %s", f"{trainable:,}", f"{total:,}")

    train_ds = data.train_dataset(tokenizer, run.spec, cfg.random_seed, run.world, cfg.dataloader_num_workers,
                                  run.resume_step, cfg.group_by_length_window, cfg.per_device_train_batch_size,
                                  token_budget=cfg.token_budget)
    eval_ds = data.eval_dataset(tokenizer, run.spec, cfg.random_seed, cfg.n_eval_tasks) if cfg.eval_steps else None
    collator = data.BatchCollator(DataCollatorForLanguageModeling(
        pad_token_id=tokenizer.pad_token_id, padding_free=padding_free, pad_to_multiple_of=cfg.pad_to_multiple_of))
    steps = callbacks(cfg, run)
    # Each evaluation also logs the loss per token class (grammar, function, colour, row, column) beside guessing.
    token_classes = EvalTokenClasses(tokenizer, cfg.task_mixture()) if cfg.eval_steps else None
    lr_schedule = None
    if cfg.schedule_over == "minutes":
        from arc25.train.time_limit import TimeLimitCallback, time_schedule

        limit = next(c for c in steps if isinstance(c, TimeLimitCallback))
        lr_schedule = partial(time_schedule, limit=limit, kind=cfg.lr_scheduler_type, warmup=cfg.warmup_ratio)
    trainer = ArcTrainer(
        model=model, args=sft_config(cfg, run), train_dataset=train_ds, eval_dataset=eval_ds,
        processing_class=tokenizer, data_collator=collator, callbacks=steps,
        observers=[c for c in steps if isinstance(c, ThroughputCallback)],
        training_info=run.info,
        dump_samples=cfg.dump_samples, dump_dir=run.output_dir / "samples", run_start_step=run.resume_step,
        token_classes=token_classes, lr_schedule=lr_schedule,
    )
    distributed.check_group(trainer.accelerator, run.world, run.resume_step)
    for callback in steps:
        if isinstance(callback, SolveRateCallback):
            callback.bind(trainer)  # it logs through the trainer, so the rates reach the console and every tracker
    return trainer


def main(cfg: Config, run: Run | None = None) -> dict:
    """Train; returns the final train metrics for callers such as tests and sweeps."""
    from arc25.models import loading

    run = run or prepare(cfg)
    trainer = build_trainer(cfg, run)
    result = trainer.train(resume_from_checkpoint=str(run.resume[0]) if run.resume else None)

    final = run.output_dir / "final"
    trainer.save_model(str(final))
    metrics = dict(result.metrics, global_step=trainer.state.global_step, skipped_too_long=trainer.skipped_samples)
    if trainer.is_world_process_zero():
        loading.write_training_info(final, **run.info)
        (run.output_dir / "train_metrics.json").write_text(json.dumps(metrics, indent=2))
        # Every logged dict (loss, throughput, eval loss, solve rate) in order: what curves are plotted from.
        with open(run.output_dir / "log_history.jsonl", "w") as f:
            f.writelines(json.dumps(entry) + "\n" for entry in trainer.state.log_history)
    # Tear the process group down ourselves: left to interpreter exit, gloo's threads can abort a rank
    # ("terminate called without an active exception") after a run that otherwise succeeded. The order matters
    # too: the group's destructor joins gloo's threads while holding the GIL, and a thread still freeing the
    # barrier's work needs the GIL (a rank once hung there for good). So the model (whose DDP reducer holds the
    # group) goes first while the group is registered, and the GIL is let go before the group is destroyed.
    state = trainer.accelerator.state
    state.wait_for_everyone()
    del trainer
    gc.collect()
    time.sleep(0.1)
    state.destroy_process_group()
    return metrics


def cli(argv: list[str] | None = None) -> None:
    """arc25-finetune (or python finetuning.py): bad input exits 2 with one line, before any model loads."""
    cfg = Config.from_cli(argv)
    try:
        run = prepare(cfg)
    except ValueError as err:
        fail(str(err))
    main(cfg, run)


if __name__ == "__main__":
    cli()
