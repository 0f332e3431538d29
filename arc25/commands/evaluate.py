"""Evaluate a model (optionally with a LoRA adapter) on a task set: sample programs, run them, score, report.

    # held-out synthetic tasks, greedy only
    arc25-evaluate --model-path runs/tiny/final --task-set synthetic --n 200 --output-dir runs/tiny/eval
    # real ARC, 1 greedy + 8 sampled programs per task, a LoRA adapter on a local base
    arc25-evaluate --model-path /models/Qwen2.5-Coder-0.5B-Instruct --adapter-path runs/qwen/final \\
        --task-set arc-agi-1-evaluation --n-samples 8 --temperature 0.8 --output-dir runs/qwen/eval-arc1

An adapter trained here knows its base (arc25_training.json): a builtin base is rebuilt from the seed it was
trained with, and another base is refused with one line. Writes <output-dir>/summary.json (settings and
totals), <output-dir>/tasks.jsonl (one task per line: best program, every program's scores) and
<output-dir>/plots/*.png (input, target and the best program's prediction), and prints a table.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import tyro

from arc25.cli.args import (AdapterArgs, DeviceArgs, EvalSettings, ModelArgs, ModelSeedArgs, OutputArgs, ProgressArgs,
                            TaskArgs, TrainedPromptArgs)
from arc25.cli import fail, parse


# Bases are listed last-shown-first, as in finetuning.Config.
@dataclass(kw_only=True)
class Args(TaskArgs, ProgressArgs, TrainedPromptArgs, EvalSettings, DeviceArgs, ModelSeedArgs, AdapterArgs, ModelArgs,
           OutputArgs):
    """Evaluate a model on task sets; every flag but the task sets' and the plots' is a shared group of arc25.cli.args."""

    output_dir: str = field()  # required: a bare annotation would inherit OutputArgs' default
    task_set: Annotated[list[str], tyro.conf.UseAppendAction] = field(default_factory=list)
    """synthetic[:MIXTURE], arc-agi-1-training, arc-agi-1-evaluation, arc-agi-2-training, arc-agi-2-evaluation (each
    optionally :ID,ID,... to pick tasks), squares:N, vertical-lines:N or json:PATH (a folder of ARC task files, or one
    file); repeat to evaluate several (default: synthetic)."""
    n: Annotated[list[int], tyro.conf.UseAppendAction] = field(default_factory=list)
    """Evaluate the first N tasks of each task set (synthetic default 100; ARC: all); repeat for one N per --task-set."""
    n_plots: int = 8
    """PNGs of the first N evaluated tasks."""

    def validate(self) -> None:
        super().validate()
        if self.n_plots < 0:
            raise ValueError(f"--n-plots must be >= 0, got {self.n_plots}")
        if len(self.n) > 1 and len(self.n) != len(self.task_sets):
            raise ValueError(f"got {len(self.n)} --n values for {len(self.task_sets)} --task-set values; "
                             "give one, or one per task set")
        self.check_task_sets(self.task_sets)

    @property
    def task_sets(self) -> list[str]:
        return self.task_set or ["synthetic"]


def prepare(args: Args):
    """Load the tasks, the model and any adapter; bad input raises a one-line ValueError before weights load."""
    from arc25.models import loading
    from arc25.tasks.tasksets import load_task_set

    counts = args.n or [None]
    if len(counts) == 1:
        counts = counts * len(args.task_sets)
    tasks = []
    for spec, n in zip(args.task_sets, counts):
        tasks += load_task_set(spec, n=n, seed=args.random_seed, **args.overrides_for(spec))
    ids = [(t.task_set, t.task_id) for t in tasks]
    if len(set(ids)) != len(ids):
        raise ValueError("a task set is given twice; each --task-set must be different")
    output_dir = Path(args.output_dir)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"--output-dir {args.output_dir!r} cannot be created: {err.strerror or err}") from None
    args.grid_encoder = args.trained_grid_encoder(args.model_path, args.adapter_path)
    device = loading.resolve_device(args.device)
    # The adapter is checked against its recorded base on a weightless copy: a wrong one fails before weights load.
    plan = loading.prepare(args.model_path, args.adapter_path, torch_dtype=args.torch_dtype,
                           bf16=loading.bf16_device(device), model_seed=args.model_seed,
                           prompt_style=args.prompt_style, grid_encoder=args.grid_encoder)
    model = loading.load_model(plan).to(device)
    return tasks, plan.tokenizer, model, dict(torch_dtype=plan.dtype, device=str(device), model_seed=plan.seed)


def main(args: Args) -> None:
    from arc25.infer.evaluation import evaluate, format_table, write_report
    from arc25.infer.scoring import summarize
    from arc25.sandbox import isolation

    try:
        tasks, tokenizer, model, resolved = prepare(args)
    except ValueError as err:
        fail(str(err))
    sandbox_layers = isolation()  # what protects this machine from the programs about to run
    print(sandbox_layers.summary())
    results = evaluate(model, tokenizer, tasks, args, progress=args.progress)
    totals = summarize(results)
    config = dict(dataclasses.asdict(args), sandbox_isolation=sandbox_layers.layers, **resolved)
    write_report(Path(args.output_dir), results, totals, config, n_plots=args.n_plots)
    adapter = f" + {args.adapter_path}" if args.adapter_path else ""
    print(f"{', '.join(args.task_sets)}: {len(tasks)} tasks, {args.n_programs} program(s) each, "
          f"model {args.model_path}{adapter}")
    print(format_table(totals))
    print(f"wrote {args.output_dir}/summary.json, {args.output_dir}/tasks.jsonl and {args.output_dir}/plots/")


def cli(argv: list[str] | None = None) -> None:
    """arc25-evaluate: bad input exits 2 with one line."""
    main(parse(Args, argv, description=__doc__))


if __name__ == "__main__":
    cli()
