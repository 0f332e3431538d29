"""Padding waste of a task mixture, as JSON: padded batches vs length-grouped (--group-by-length-window) vs packed.

    python scripts/benchmark_padding.py --mixture default --batch-sizes 2,4,8,16 --windows 0,64,256,1024

No model runs: the stream is tokenised with the builtin tokenizer and cut into per-device batches the way the
DataLoader cuts it. For each batch size and window it prints the padding fraction (1 - real tokens / rows x
padded width) and the tokens the model runs over per real token; padding-free packing (--packing) is 0 and 1.0.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arc25 import data, models
from arc25.tasks import make_mixture


def padding(lengths: list[int], batch_size: int) -> dict:
    """Padding fraction and computed/real token ratio of consecutive batches of ``batch_size``."""
    batches = [lengths[i : i + batch_size] for i in range(0, len(lengths) - batch_size + 1, batch_size)]
    real = sum(sum(b) for b in batches)
    computed = sum(max(b) * len(b) for b in batches)
    return {"padding_fraction": round(1 - real / computed, 4), "computed_per_real_token": round(computed / real, 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mixture", default="default")
    parser.add_argument("--max-side", type=int, default=None, help="override the mixture's largest side")
    parser.add_argument("--max-seq-len", type=int, default=8192)
    parser.add_argument("--encoder", default="GridShapeEncoder(RowNumberEncoder(MinimalGridEncoder()))")
    parser.add_argument("--batch-sizes", default="2,4,8,16")
    parser.add_argument("--windows", default="0,64,256,1024", help="group-by-length windows; 0 = plain stream")
    parser.add_argument("--n", type=int, default=4096, help="samples to measure")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    tok = models.load_tokenizer("tiny")
    spec = data.StreamSpec(make_mixture(args.mixture, max_side=args.max_side), args.encoder, args.max_seq_len)
    stream = list(itertools.islice(data.examples(tok, spec, args.seed), args.n))
    lengths = [len(ex["input_ids"]) for ex in stream]
    results = []
    for batch_size in (int(b) for b in args.batch_sizes.split(",")):
        for window in (int(w) for w in args.windows.split(",")):
            order = data.group_by_length(iter(stream), window, batch_size, args.seed) if window else iter(stream)
            grouped = [len(ex["input_ids"]) for ex in order]
            results.append({"batch_size": batch_size, "window": window, **padding(grouped, batch_size)})
    print(json.dumps({
        "mixture": args.mixture, "max_side": args.max_side, "n": len(lengths),
        "tokens_mean": round(sum(lengths) / len(lengths), 1), "tokens_min": min(lengths), "tokens_max": max(lengths),
        "packing": {"padding_fraction": 0.0, "computed_per_real_token": 1.0},
        "results": results,
    }, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
