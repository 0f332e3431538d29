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
from typing import Annotated, Literal, Optional

import tyro

from arc25.cli import fail, parse
from arc25.evaluation import EvalSettings

SYNTHETIC_OVERRIDES = ("n_inputs", "min_side", "max_side", "min_draws", "max_draws")


@dataclass(kw_only=True)
class Args(EvalSettings):
    """Evaluate a model on task sets; the sampling and sandbox flags are EvalSettings' (shared with the library)."""

    output_dir: str
    """Folder for summary.json, tasks.jsonl and plots/."""
    model_path: str = "tiny"
    """A local Hugging Face model folder or a builtin name (tiny, small, qwen2.5-0.5b-shape)."""
    adapter_path: Optional[str] = None
    """A LoRA adapter folder to apply to --model-path."""
    model_seed: Optional[int] = None
    """Init seed of a builtin --model-path; default: the one the adapter records (its run's --random-seed), else 0."""
    task_set: Annotated[list[str], tyro.conf.UseAppendAction] = field(default_factory=list)
    """synthetic[:MIXTURE], arc-agi-1-training, arc-agi-1-evaluation, arc-agi-2-training, arc-agi-2-evaluation or
    json:PATH (a folder of ARC task files, or one file); repeat to evaluate several (default: synthetic)."""
    n: Annotated[list[int], tyro.conf.UseAppendAction] = field(default_factory=list)
    """Evaluate the first N tasks of each task set (synthetic default 100; ARC: all); repeat for one N per --task-set."""
    torch_dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    """Weights dtype; auto = bfloat16 on a bf16 GPU, else float32."""
    device: Optional[str] = None
    """Torch device (default: cuda if available, else cpu)."""
    n_plots: int = 8
    """PNGs of the first N evaluated tasks."""
    progress: bool = True
    """Show a progress bar."""
    n_inputs: Optional[int] = None
    """Synthetic override: input grids per task."""
    min_side: Optional[int] = None
    """Synthetic override: smallest grid side."""
    max_side: Optional[int] = None
    """Synthetic override: largest grid side."""
    min_draws: Optional[int] = None
    """Synthetic override: fewest DSL draws per program."""
    max_draws: Optional[int] = None
    """Synthetic override: most DSL draws per program."""

    def validate(self) -> None:
        super().validate()
        if self.n_plots < 0:
            raise ValueError(f"--n-plots must be >= 0, got {self.n_plots}")
        if len(self.n) > 1 and len(self.n) != len(self.task_sets):
            raise ValueError(f"got {len(self.n)} --n values for {len(self.task_sets)} --task-set values; "
                             "give one, or one per task set")
        synthetic = any(spec.partition(":")[0].strip() == "synthetic" for spec in self.task_sets)
        if not synthetic and any(getattr(self, name) is not None for name in SYNTHETIC_OVERRIDES):
            raise ValueError("--n-inputs/--min-side/--max-side/--min-draws/--max-draws only apply to synthetic task sets")

    @property
    def task_sets(self) -> list[str]:
        return self.task_set or ["synthetic"]


def prepare(args: Args):
    """Load the tasks, the model and any adapter; bad input raises a one-line ValueError before weights load."""
    from arc25 import models
    from arc25.tasksets import load_task_set

    counts = args.n or [None]
    if len(counts) == 1:
        counts = counts * len(args.task_sets)
    overrides = {name: getattr(args, name) for name in SYNTHETIC_OVERRIDES}
    tasks = []
    for spec, n in zip(args.task_sets, counts):
        synthetic = spec.partition(":")[0].strip() == "synthetic"
        tasks += load_task_set(spec, n=n, seed=args.random_seed, **(overrides if synthetic else {}))
    ids = [(t.task_set, t.task_id) for t in tasks]
    if len(set(ids)) != len(ids):
        raise ValueError("a task set is given twice; each --task-set must be different")
    models.check_model_path(args.model_path)
    output_dir = Path(args.output_dir)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"--output-dir {args.output_dir!r} cannot be created: {err.strerror or err}") from None

    import torch

    from arc25 import lora

    try:
        device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    except RuntimeError:
        raise ValueError(f"--device {args.device!r} is not a torch device (e.g. cpu, cuda, cuda:1)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {args.device!r} asks for CUDA, but no GPU is visible")
    dtype = args.torch_dtype
    if dtype == "auto":
        dtype = "bfloat16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "float32"
    models.check_matches_training(args.adapter_path or args.model_path, args.prompt_style, args.grid_encoder)
    tokenizer = models.load_tokenizer(args.model_path)
    seed = args.model_seed or 0
    if args.adapter_path:
        # On a weightless copy of the model: a wrong adapter fails before the weights load.
        seed = lora.check_adapter(args.model_path, tokenizer, args.adapter_path, model_seed=args.model_seed)
    model = models.load_model(args.model_path, tokenizer, dtype=dtype, seed=seed)
    if args.adapter_path:
        model = lora.apply_adapter(model, args.adapter_path)
    model.to(device)
    return tasks, tokenizer, model, dict(torch_dtype=dtype, device=str(device), model_seed=seed)


def main(args: Args) -> None:
    from arc25.evaluation import evaluate, format_table, write_report
    from arc25.scoring import summarize
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
