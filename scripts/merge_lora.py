"""Merge a LoRA adapter into its base model and save the result with the tokenizer (e.g. to serve with vLLM).

    python scripts/merge_lora.py --base /models/Qwen2.5-Coder-0.5B-Instruct --adapter runs/qwen/final \\
        --out runs/qwen/merged

The merge is computed in float32 and saved in --dtype. An adapter trained on another base is refused
with one line, before the base's weights load.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# Let the script run from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str] | None = None) -> int:
    """Merge and save; returns the exit status (2 with a one-line message on bad input)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="the base model: a local Hugging Face folder (or a builtin name)")
    parser.add_argument("--adapter", required=True, help="the LoRA adapter folder (adapter_config.json + weights)")
    parser.add_argument("--out", required=True, help="a new (or empty) folder for the merged model")
    parser.add_argument("--dtype", choices=("float32", "bfloat16", "float16"), default="bfloat16",
                        help="dtype of the saved weights")
    parser.add_argument("--base-seed", type=int, default=0,
                        help="init seed of a builtin --base (the run's --random-seed); ignored for folders")
    args = parser.parse_args(argv)

    from arc25.lora import merge_adapter

    try:
        out = merge_adapter(args.base, args.adapter, args.out, dtype=args.dtype, base_seed=args.base_seed)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"merged {args.adapter} into {args.base}: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
