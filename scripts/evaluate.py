"""Evaluate a model (optionally with a LoRA adapter) on a task set: sample programs, run them, score, report.

    # held-out synthetic tasks, greedy only
    python scripts/evaluate.py --model-path runs/tiny/final --task-set synthetic --n 200 --out runs/tiny/eval
    # real ARC, 1 greedy + 8 sampled programs per task, a LoRA adapter on a local base
    python scripts/evaluate.py --model-path /models/Qwen2.5-Coder-0.5B-Instruct --adapter-path runs/qwen/final \\
        --task-set arc-agi-1-evaluation --n-samples 8 --temperature 0.8 --out runs/qwen/eval-arc1

Writes <out>/summary.json (settings and totals), <out>/tasks.jsonl (one task per line: best program, every
program's scores) and <out>/plots/*.png (input, target and the best program's prediction), and prints a table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# Let the script run from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from arc25.encoders import DEFAULT_ENCODER_SPEC  # noqa: E402
from arc25.prompting import DEFAULT_PROMPT_STYLE, PROMPT_STYLES  # noqa: E402

DTYPES = ("auto", "float32", "bfloat16", "float16")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-path", default="tiny", help="a local Hugging Face model folder or a builtin name (tiny, small, ...)")
    parser.add_argument("--adapter-path", default=None, help="a LoRA adapter folder to apply to --model-path")
    parser.add_argument("--model-seed", type=int, default=0,
                        help="init seed of a builtin --model-path (use the run's --random-seed to evaluate its adapter)")
    parser.add_argument("--task-set", action="append", default=None,
                        help="synthetic[:MIXTURE], arc-agi-1-training, arc-agi-1-evaluation, arc-agi-2-training, "
                             "arc-agi-2-evaluation, or json:PATH (a folder of ARC task files, or one file); "
                             "repeat to evaluate several (default: synthetic)")
    parser.add_argument("--n", type=int, action="append", default=None,
                        help="evaluate the first N tasks of each task set (synthetic default 100; ARC: all); "
                             "repeat to give each --task-set its own N, in order")
    parser.add_argument("--seed", type=int, default=0, help="seeds the held-out synthetic tasks and the sampling")
    parser.add_argument("--greedy", action=argparse.BooleanOptionalAction, default=True, help="include one greedy program per task")
    parser.add_argument("--n-samples", type=int, default=0, help="sampled programs per task, besides the greedy one")
    parser.add_argument("--temperature", type=float, default=1.0, help="sampling temperature for --n-samples")
    parser.add_argument("--max-new-tokens", type=int, default=1024, help="longest reply in tokens")
    parser.add_argument("--max-seq-len", type=int, default=8192,
                        help="tasks whose prompt + --max-new-tokens exceed this are reported as skipped")
    parser.add_argument("--batch-size", type=int, default=16, help="sequences per generate call")
    parser.add_argument("--encoder", default=DEFAULT_ENCODER_SPEC, help="grid text encoding (as in training)")
    parser.add_argument("--prompt-style", default=DEFAULT_PROMPT_STYLE,
                        help=f"text around the examples, as in training: {', '.join(PROMPT_STYLES)}")
    parser.add_argument("--timeout-s", type=float, default=1.0, help="time limit per program run")
    parser.add_argument("--n-workers", type=int, default=None, help="sandbox worker processes (default: CPU count)")
    parser.add_argument("--dtype", choices=DTYPES, default="auto", help="weights dtype; auto = bfloat16 on a bf16 GPU, else float32")
    parser.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--n-plots", type=int, default=8, help="PNGs of the first N evaluated tasks")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    overrides = parser.add_argument_group("synthetic task overrides (as finetuning.py's)")
    for name in ("n_inputs", "min_side", "max_side", "min_draws", "max_draws"):
        overrides.add_argument(f"--{name.replace('_', '-')}", type=int, default=None)
    return parser.parse_args(argv)


def prepare(args: argparse.Namespace):
    """Check the request, load the tasks, the model and any adapter; bad input raises a one-line ValueError early."""
    from arc25 import models
    from arc25.evaluation import EvalSettings
    from arc25.tasksets import load_task_set

    settings = EvalSettings(
        greedy=args.greedy, n_samples=args.n_samples, temperature=args.temperature,
        max_new_tokens=args.max_new_tokens, max_seq_len=args.max_seq_len, batch_size=args.batch_size,
        seed=args.seed, encoder=args.encoder, prompt_style=args.prompt_style, timeout_s=args.timeout_s, n_workers=args.n_workers,
    )
    if args.n_plots < 0:
        raise ValueError(f"--n-plots must be >= 0, got {args.n_plots}")
    task_sets = args.task_set or ["synthetic"]
    counts = args.n or [None]
    if len(counts) == 1:
        counts = counts * len(task_sets)
    if len(counts) != len(task_sets):
        raise ValueError(f"got {len(counts)} --n values for {len(task_sets)} --task-set values; give one, or one per task set")
    overrides = dict(n_inputs=args.n_inputs, min_side=args.min_side, max_side=args.max_side,
                     min_draws=args.min_draws, max_draws=args.max_draws)
    synthetic = [spec.partition(":")[0].strip() == "synthetic" for spec in task_sets]
    if not any(synthetic) and any(v is not None for v in overrides.values()):
        raise ValueError("--n-inputs/--min-side/--max-side/--min-draws/--max-draws only apply to synthetic task sets")
    tasks = []
    for spec, n, is_synthetic in zip(task_sets, counts, synthetic):
        tasks += load_task_set(spec, n=n, seed=args.seed, **(overrides if is_synthetic else {}))
    ids = [(t.task_set, t.task_id) for t in tasks]
    if len(set(ids)) != len(ids):
        raise ValueError("a task set is given twice; each --task-set must be different")
    models.check_model_path(args.model_path)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"--out {str(args.out)!r} cannot be created: {err.strerror or err}") from None

    import torch

    from arc25 import lora

    try:
        device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    except RuntimeError:
        raise ValueError(f"--device {args.device!r} is not a torch device (e.g. cpu, cuda, cuda:1)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {args.device!r} asks for CUDA, but no GPU is visible")
    dtype = args.dtype
    if dtype == "auto":
        dtype = "bfloat16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "float32"
    models.check_prompt_style_matches(args.adapter_path or args.model_path, settings.prompt_style)
    tokenizer = models.load_tokenizer(args.model_path)
    if args.adapter_path:
        # On a weightless copy of the model: a wrong adapter fails before the weights load.
        lora.check_adapter(args.model_path, tokenizer, args.adapter_path)
    model = models.load_model(args.model_path, tokenizer, dtype=dtype, seed=args.model_seed)
    if args.adapter_path:
        model = lora.apply_adapter(model, args.adapter_path)
    model.to(device)
    return settings, tasks, tokenizer, model, dict(dtype=dtype, device=str(device))


def main(argv: list[str] | None = None) -> int:
    """Evaluate; returns the exit status (2 with a one-line message on bad input)."""
    from arc25.evaluation import evaluate, format_table, summarize, write_report

    args = parse_args(argv)
    try:
        settings, tasks, tokenizer, model, resolved = prepare(args)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    results = evaluate(model, tokenizer, tasks, settings, progress=not args.no_progress)
    totals = summarize(results)
    config = dict(vars(args), out=str(args.out), settings=vars(settings), **resolved)
    write_report(args.out, results, totals, config, n_plots=args.n_plots)
    adapter = f" + {args.adapter_path}" if args.adapter_path else ""
    names = ", ".join(args.task_set or ["synthetic"])
    print(f"{names}: {len(tasks)} tasks, {settings.n_programs} program(s) each, model {args.model_path}{adapter}")
    print(format_table(totals))
    print(f"wrote {args.out}/summary.json, {args.out}/tasks.jsonl and {args.out}/plots/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
