"""Train the builtin BPE tokenizer (arc25/assets/tokenizer.json) on prompts from the task stream.

Run once when the prompt format changes:  arc25-build-tokenizer
The pre-tokenizer is Qwen2's split (every digit its own piece) followed by byte-level BPE, so each grid
cell is exactly one token and no learned merge can glue a digit to anything.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from arc25.cli import CliConfig, parse
from arc25.prompts.encoders import DEFAULT_ENCODER_SPEC, get_encoder
from arc25.models import CHATML_TEMPLATE, SPECIAL_TOKENS, TOKENIZER_FILE
from arc25.prompts.prompting import task_to_messages
from arc25.tasks import task_stream

QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def corpus(n_tasks: int):
    from jinja2 import Template

    template = Template(CHATML_TEMPLATE)
    encoders = [get_encoder(DEFAULT_ENCODER_SPEC), get_encoder("MinimalGridEncoder()")]
    for i, task in enumerate(itertools.islice(task_stream(seed=12345), n_tasks)):
        yield template.render(messages=task_to_messages(task, encoders[i % 2]), add_generation_prompt=False)


@dataclass
class Args(CliConfig):
    vocab_size: int = 2048
    """Tokens in the trained vocabulary."""
    n_tasks: int = 3000
    """Task prompts to train on."""
    output_file: str = str(TOKENIZER_FILE)
    """Where to write tokenizer.json (default: the builtin models' asset)."""

    def validate(self) -> None:
        if self.vocab_size < 300:
            raise ValueError(f"--vocab-size must be >= 300 (the byte alphabet and special tokens), got {self.vocab_size}")
        if self.n_tasks < 1:
            raise ValueError(f"--n-tasks must be >= 1, got {self.n_tasks}")


def main(args: Args) -> None:
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    specials = [SPECIAL_TOKENS["endoftext"], SPECIAL_TOKENS["bos"], SPECIAL_TOKENS["eos"], SPECIAL_TOKENS["pad"]]
    trainer = trainers.BpeTrainer(
        vocab_size=args.vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus(args.n_tasks), trainer=trainer)
    tok.save(args.output_file)
    print(f"wrote {args.output_file}: {tok.get_vocab_size()} tokens")


def cli(argv: list[str] | None = None) -> None:
    """arc25-build-tokenizer: bad input exits 2 with one line."""
    main(parse(Args, argv, description=__doc__))


if __name__ == "__main__":
    cli()
