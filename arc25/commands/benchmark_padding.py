"""Padding waste of a task mixture, as JSON: padded batches vs length-grouped (--group-by-length-window) vs packed.

    arc25-benchmark-padding --mixture default --batch-sizes 2,4,8,16 --windows 0,64,256,1024 --token-budgets 8192,16384

No model runs: the stream is tokenised with the builtin tokenizer and cut into per-device batches the way the
DataLoader cuts it. For each batch size and window it prints the padding fraction (1 - real tokens / rows x
padded width) and the tokens the model runs over per real token; padding-free packing (--packing) is 0 and 1.0.
Rows packed to a token budget (--token-budget) have no padding either; for each budget it prints how full the
rows come out (real tokens / budget, what the memory sized for the budget holds) and the samples per row.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Optional

from arc25.cli import DEFAULT_RANDOM_SEED, CliConfig, parse
from arc25.prompts.encoders import DEFAULT_ENCODER_SPEC


def _ints(text: str, flag: str, minimum: int) -> list[int]:
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"{flag} must be comma-separated integers, got {text!r}") from None
    if min(values) < minimum:
        raise ValueError(f"{flag} values must be >= {minimum}, got {text!r}")
    return values


@dataclass
class Args(CliConfig):
    mixture: str = "default"
    """Task mixture to measure."""
    max_side: Optional[int] = None
    """Override the mixture's largest grid side."""
    max_seq_len: int = 8192
    """Samples longer than this are skipped, as in training."""
    grid_encoder: str = DEFAULT_ENCODER_SPEC
    """How grids are written as text."""
    batch_sizes: str = "2,4,8,16"
    """Comma-separated per-device batch sizes."""
    windows: str = "0,64,256,1024"
    """Comma-separated group-by-length windows; 0 = plain stream."""
    token_budgets: str = ""
    """Comma-separated token budgets (each >= --max-seq-len) to pack rows to; empty = none."""
    n: int = 4096
    """Samples to measure."""
    random_seed: int = DEFAULT_RANDOM_SEED
    """Task stream seed."""

    def validate(self) -> None:
        from arc25.prompts.encoders import get_encoder
        from arc25.tasks import make_mixture

        _ints(self.batch_sizes, "--batch-sizes", 1)
        _ints(self.windows, "--windows", 0)
        if self.token_budgets:
            _ints(self.token_budgets, "--token-budgets", self.max_seq_len)
        if self.n < 1:
            raise ValueError(f"--n must be >= 1, got {self.n}")
        get_encoder(self.grid_encoder)
        make_mixture(self.mixture, max_side=self.max_side)


def padding(lengths: list[int], batch_size: int) -> dict:
    """Padding fraction and computed/real token ratio of consecutive batches of ``batch_size``."""
    batches = [lengths[i : i + batch_size] for i in range(0, len(lengths) - batch_size + 1, batch_size)]
    real = sum(sum(b) for b in batches)
    computed = sum(max(b) * len(b) for b in batches)
    return {"padding_fraction": round(1 - real / computed, 4), "computed_per_real_token": round(computed / real, 3)}


def budget_fill(stream: list[dict], token_budget: int) -> dict:
    """Rows packed to ``token_budget`` as training packs them: how full they are and how many samples each holds."""
    from arc25.train import data

    rows = [[len(ex["input_ids"]) for ex in pack["samples"]] for pack in data.pack_to_budget(iter(stream), token_budget)]
    full = rows[:-1] or rows  # the stream's last row is cut short by the sample count, not by the budget
    return {"token_budget": token_budget, "rows": len(rows), "padding_fraction": 0.0,
            "fill_fraction": round(sum(map(sum, full)) / (len(full) * token_budget), 4),
            "samples_per_row": round(sum(map(len, full)) / len(full), 2)}


def main(args: Args) -> None:
    from arc25 import models
    from arc25.train import data
    from arc25.tasks import make_mixture

    tok = models.load_tokenizer("tiny")
    spec = data.StreamSpec(make_mixture(args.mixture, max_side=args.max_side), args.grid_encoder, args.max_seq_len)
    stream = list(itertools.islice(data.examples(tok, spec, args.random_seed), args.n))
    lengths = [len(ex["input_ids"]) for ex in stream]
    results = []
    for batch_size in _ints(args.batch_sizes, "--batch-sizes", 1):
        for window in _ints(args.windows, "--windows", 0):
            order = data.group_by_length(iter(stream), window, batch_size, args.random_seed) if window else iter(stream)
            grouped = [len(ex["input_ids"]) for ex in order]
            results.append({"batch_size": batch_size, "window": window, **padding(grouped, batch_size)})
    print(json.dumps({
        "mixture": args.mixture, "max_side": args.max_side, "n": len(lengths),
        "tokens_mean": round(sum(lengths) / len(lengths), 1), "tokens_min": min(lengths), "tokens_max": max(lengths),
        "packing": {"padding_fraction": 0.0, "computed_per_real_token": 1.0},
        "results": results,
        "token_budgets": [budget_fill(stream, b) for b in (_ints(args.token_budgets, "--token-budgets", 1)
                                                          if args.token_budgets else [])],
    }, indent=1))


def cli(argv: list[str] | None = None) -> None:
    """arc25-benchmark-padding: bad input exits 2 with one line."""
    main(parse(Args, argv, description=__doc__))


if __name__ == "__main__":
    cli()
