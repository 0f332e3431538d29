"""Merge a LoRA adapter into its base model and save the result with the tokenizer (e.g. to serve with vLLM).

    arc25-merge-lora --model-path /models/Qwen2.5-Coder-0.5B-Instruct --adapter-path runs/qwen/final \\
        --output-dir runs/qwen/merged

The merge is computed in float32 and saved in --torch-dtype. An adapter trained on another base (or, for a
builtin base, another init seed) is refused with one line, before the base's weights load.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from arc25.cli import CliConfig, fail, parse


@dataclass
class Args(CliConfig):
    model_path: str
    """The base model: a local Hugging Face folder (or a builtin name)."""
    adapter_path: str
    """The LoRA adapter folder (adapter_config.json + weights)."""
    output_dir: str
    """A new (or empty) folder for the merged model."""
    torch_dtype: Literal["float32", "bfloat16", "float16"] = "bfloat16"
    """Dtype of the saved weights."""
    model_seed: Optional[int] = None
    """Init seed of a builtin --model-path; default: the one the adapter records. Ignored for folders."""


def main(args: Args) -> None:
    from arc25.lora import merge_adapter

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
