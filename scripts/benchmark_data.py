"""Data-path throughput on one core, as JSON: sample -> gate -> encode -> prompt (-> tokenise).

    python scripts/benchmark_data.py --n 3000

Prints one JSON object: per generator and for each mixture, tasks/s for prompt/completion pairs, tokenised
examples/s (builtin tokenizer, chat template) and prompt length in characters and tokens.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import time


def measure(mixture: str, n: int, seed: int, encoder_spec: str, formatter) -> dict:
    from arc25.encoders import get_encoder
    from arc25.prompting import task_to_prompt_completion
    from arc25.tasks import task_stream

    encoder = get_encoder(encoder_spec)
    stream = task_stream(seed, mixture)
    next(stream)  # warm caches outside the clock
    start = time.perf_counter()
    lengths = []
    for task in itertools.islice(stream, n):
        pair = task_to_prompt_completion(task, encoder)
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="tasks per measurement")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--encoder", default="GridShapeEncoder(RowNumberEncoder(MinimalGridEncoder()))")
    parser.add_argument("--mixtures", default="default", help="comma-separated mixtures to measure besides each generator")
    args = parser.parse_args()

    # One core, as the target is stated per core (a data worker is one process).
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    from arc25.data import ChatFormatter
    from arc25.models import builtin_tokenizer
    from arc25.tasks import GENERATORS

    formatter = ChatFormatter(builtin_tokenizer())
    results = {"machine": platform.processor() or platform.machine(), "python": platform.python_version(), "n": args.n}
    for name in [*GENERATORS, *args.mixtures.split(",")]:
        results[name] = measure(name, args.n, args.seed, args.encoder, formatter)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
