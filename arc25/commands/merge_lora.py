"""Merge a LoRA adapter into its base model and save the result with the tokenizer (e.g. to serve with vLLM).

    arc25-merge-lora --model-path /models/Qwen2.5-Coder-0.5B-Instruct --adapter-path runs/qwen/final \\
        --output-dir runs/qwen/merged

The merge is computed in float32 and saved in --torch-dtype. An adapter trained on another base (or, for a
builtin base, another init seed) is refused with one line, before the base's weights load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from arc25.cli.args import AdapterArgs, ModelArgs, ModelSeedArgs, OutputArgs
from arc25.cli import fail, parse


@dataclass(kw_only=True)
class Args(ModelSeedArgs, AdapterArgs, ModelArgs, OutputArgs):
    """Merge an adapter into its base: the model flags are arc25.cli.args' groups, all three paths required."""

    # field(): a required field, though the groups give defaults (a bare annotation would inherit them).
    model_path: str = field()
    adapter_path: str = field()
    output_dir: str = field()
    # Not ModelArgs' dtype: the saved weights' dtype, which has no "auto" (the merge itself is float32).
    torch_dtype: Literal["float32", "bfloat16", "float16"] = "bfloat16"
    """Dtype of the saved weights."""


def main(args: Args) -> None:
    from arc25.models.loading import merge_adapter

    try:
        out = merge_adapter(args.model_path, args.adapter_path, args.output_dir, dtype=args.torch_dtype,
                            model_seed=args.model_seed)
    except ValueError as err:
        fail(str(err))
    print(f"merged {args.adapter_path} into {args.model_path}: {out}")


def cli(argv: list[str] | None = None) -> None:
    """arc25-merge-lora: bad input exits 2 with one line."""
    main(parse(Args, argv, description=__doc__))


if __name__ == "__main__":
    cli()
