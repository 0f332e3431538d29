"""Data-path throughput on one core, as JSON: sample -> gate -> encode -> prompt (-> tokenise).

    arc25-benchmark-data --n 3000
    arc25-benchmark-data --n 300 --prompt-style describe-dsl      # tokens per sample with the other prompt
    arc25-benchmark-data --n 300 --n-inputs 1 --min-side 10 --max-side 10 --min-draws 5 --max-draws 5   # journal's

Prints one JSON object: per generator and for each mixture, tasks/s for prompt/completion pairs, tokenised
examples/s (builtin tokenizer, chat template) and prompt length in characters and tokens.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import time
from dataclasses import dataclass

from arc25.cli.args import PromptArgs, SeedArgs, TaskArgs
from arc25.cli import parse


@dataclass(kw_only=True)
class Args(TaskArgs, PromptArgs, SeedArgs):
    """Data-path throughput; the seed, text and task-override flags are arc25.cli.args' groups."""

    n: int = 3000
    """Tasks per measurement."""
    mixtures: str = "default"
    """Comma-separated mixtures to measure besides each generator."""

    def validate(self) -> None:
        super().validate()
        from arc25.tasks import make_mixture

        if self.n < 1:
            raise ValueError(f"--n must be >= 1, got {self.n}")
        for mixture in self.mixtures.split(","):
            make_mixture(mixture, **self.overrides())


def measure(mixture, n: int, seed: int, encoder_spec: str, formatter) -> dict:
    from arc25.prompts.encoders import get_encoder
    from arc25.prompts.prompting import task_to_prompt_completion
    from arc25.tasks import task_stream

    encoder = get_encoder(encoder_spec)
    stream = task_stream(seed, mixture)
    next(stream)  # warm caches outside the clock
    start = time.perf_counter()
    lengths = []
    for task in itertools.islice(stream, n):
        pair = task_to_prompt_completion(task, encoder, formatter.prompt_style)
        lengths.append(len(pair["prompt"][1]["content"]) + len(pair["completion"][0]["content"]))
    pairs_s = n / (time.perf_counter() - start)

    stream = task_stream(seed + 1, mixture)
    start = time.perf_counter()
    tokens = [len(formatter.example(task, encoder)["input_ids"]) for task in itertools.islice(stream, n)]
    tokenized_s = n / (time.perf_counter() - start)
    return {
        "pairs_per_s": round(pairs_s, 1),
        "tokenized_per_s": round(tokenized_s, 1),
        "chars_mean": round(sum(lengths) / n, 1),
        "chars_max": max(lengths),
        "tokens_mean": round(sum(tokens) / n, 1),
        "tokens_max": max(tokens),
    }


def main(args: Args) -> None:
    # One core, as the target is stated per core (a data worker is one process).
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    from arc25.prompts.chat import ChatFormatter
    from arc25.models import builtin_tokenizer
    from arc25.tasks import GENERATORS, make_mixture

    formatter = ChatFormatter(builtin_tokenizer(), args.prompt_style)
    results = {"machine": platform.processor() or platform.machine(), "python": platform.python_version(), "n": args.n,
               "prompt_style": args.prompt_style, "overrides": {k: v for k, v in args.overrides().items() if v}}
    for name in [*GENERATORS, *args.mixtures.split(",")]:
        mixture = make_mixture(name, **args.overrides())
        results[name] = measure(mixture, args.n, args.random_seed, args.grid_encoder, formatter)
    print(json.dumps(results, indent=2))


def cli(argv: list[str] | None = None) -> None:
    """arc25-benchmark-data: bad input exits 2 with one line."""
    main(parse(Args, argv, description=__doc__))


if __name__ == "__main__":
    cli()
