"""Train the builtin BPE tokenizer (arc25/assets/tokenizer.json) on prompts from the task stream.

Run once when the prompt format changes:  python scripts/build_tokenizer.py
The pre-tokenizer is Qwen2's split (every digit its own piece) followed by byte-level BPE, so each grid
cell is exactly one token and no learned merge can glue a digit to anything.
"""

from __future__ import annotations

import argparse
import itertools

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from arc25.encoders import DEFAULT_ENCODER_SPEC, get_encoder
from arc25.models import CHATML_TEMPLATE, SPECIAL_TOKENS, TOKENIZER_FILE
from arc25.prompting import task_to_messages
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab-size", type=int, default=2048)
    parser.add_argument("--n-tasks", type=int, default=3000)
    parser.add_argument("--out", default=str(TOKENIZER_FILE))
    args = parser.parse_args()

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
    tok.save(args.out)
    print(f"wrote {args.out}: {tok.get_vocab_size()} tokens")


if __name__ == "__main__":
    main()
