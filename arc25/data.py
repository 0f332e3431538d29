"""Training data: the task stream, tokenised into prompt/completion examples, as a sharded IterableDataset.

Each example carries ``input_ids`` and ``labels`` (-100 on the prompt, so the loss covers only the
assistant's code and its end-of-turn token) plus ``code`` and ``skipped`` for bookkeeping. Examples
longer than ``max_seq_len`` are skipped, never truncated: a cut-off program teaches broken code.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from arc25.encoders import get_encoder
from arc25.prompting import SYSTEM_PROMPT, task_to_prompt_completion
from arc25.tasks import Mixture, Task, derive_seed, task_stream

# Keys that separate the streams of one run: shard seeds get (rank, worker, resume step); these get one key.
EVAL_KEY = 1_000_003
PROBE_KEY = 1_000_033
# This many too-long samples in a row means --max-seq-len cannot fit the mixture at all.
MAX_CONSECUTIVE_SKIPS = 500

_USER_MARK = "\x00ARC25_USER\x00"
_CODE_MARK = "\x00ARC25_CODE\x00"


class ChatFormatter:
    """Render prompt/completion text with the tokenizer's chat template, once, then fill in by string slicing.

    Jinja rendering per sample costs more than the rest of the data path; templates that copy message
    content verbatim (ChatML, Qwen) render identically this way, and the constructor checks that they do.
    """

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self._chunked = None
        prompt = self._render([_USER_MARK], generation_prompt=True)
        full = self._render([_USER_MARK, _CODE_MARK], generation_prompt=False)
        if not full.startswith(prompt) or prompt.count(_USER_MARK) != 1 or full.count(_CODE_MARK) != 1:
            raise ValueError("the tokenizer's chat template does not render the prompt as a prefix of the conversation")
        self.prompt_head, self.prompt_tail = prompt.split(_USER_MARK)
        self.completion_head, self.completion_tail = full[len(prompt) :].split(_CODE_MARK)

    def _render(self, contents: list[str], generation_prompt: bool) -> str:
        messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": contents[0]}]
        if len(contents) > 1:
            messages.append({"role": "assistant", "content": contents[1]})
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)

    def texts(self, pair: dict) -> tuple[str, str]:
        """(prompt text, completion text) for a prompt/completion pair from arc25.prompting."""
        user = pair["prompt"][1]["content"]
        code = pair["completion"][0]["content"]
        return self.prompt_head + user + self.prompt_tail, self.completion_head + code + self.completion_tail

    def encode(self, text: str) -> list[int]:
        if self._chunked is None:
            self._chunked = ChunkedEncoder.for_tokenizer(self.tokenizer) or False
        if self._chunked:
            return self._chunked.encode(text)
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def example(self, task: Task, encoder) -> dict:
        """Token ids with labels masked to -100 over the prompt."""
        prompt, completion = self.texts(task_to_prompt_completion(task, encoder))
        prompt_ids = self.encode(prompt)
        completion_ids = self.encode(completion)
        return {
            "input_ids": prompt_ids + completion_ids,
            "labels": [-100] * len(prompt_ids) + completion_ids,
            "code": task.code,
            "generator": task.generator,
            "n_draws": task.n_draws,
        }


# Text splits into chunks at newlines followed by non-space: no pre-token of a Qwen2/GPT-style byte-level
# tokenizer spans such a boundary, so chunks tokenise independently. Runs of digit rows form their own chunk.
_CHUNKS = re.compile(r"(?P<grid>(?:[0-9][0-9 ]*\n)+(?=\S|\Z))|.*?\n+(?=\S|\Z)|.+\Z", re.S)
_GRID_CHARS = "0123456789 \n"


class ChunkedEncoder:
    """Tokenise by chunks: repeated chunks (instructions, headers) from a cache, grid rows by table lookup.

    The tokenizer's backend on whole prompts is the slowest step of the data path; this gives the same ids
    for tokenizers that split every digit, space and newline between digits into their own tokens (Qwen2,
    the builtin one). ``for_tokenizer`` checks that on sample text and returns None when it does not hold.
    """

    CACHE_LIMIT = 50_000

    def __init__(self, tokenizer):
        self._backend = tokenizer.backend_tokenizer
        self._cache: dict[str, list[int]] = {}
        table = np.full(256, -1, dtype=np.int64)
        for ch in _GRID_CHARS:
            ids = self._backend.encode(ch, add_special_tokens=False).ids
            if len(ids) != 1:
                raise ValueError(f"{ch!r} is not a single token")
            table[ord(ch)] = ids[0]
        self._table = table

    @classmethod
    def for_tokenizer(cls, tokenizer) -> "ChunkedEncoder | None":
        if not hasattr(tokenizer, "backend_tokenizer"):
            return None
        try:
            enc = cls(tokenizer)
        except ValueError:
            return None
        rng = random.Random(0)
        for _ in range(20):
            rows = ["".join(rng.choice("0123456789") for _ in range(rng.randint(1, 30))) for _ in range(rng.randint(1, 30))]
            grid = "\n".join(f"{i} {row}" if rng.random() < 0.5 else row for i, row in enumerate(rows))
            text = f"Example:\n\n### Input\nshape: 3x4\n{grid}\n### Output\n{grid}\n\n## Next\n    code(1, 2)\n```"
            if enc.encode(text) != enc._backend.encode(text, add_special_tokens=False).ids:
                return None
        return enc

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        cache = self._cache
        for match in _CHUNKS.finditer(text):
            chunk = match.group()
            cached = cache.get(chunk)
            if cached is not None:
                ids += cached
            elif match.lastgroup == "grid":
                ids += self._table[np.frombuffer(chunk.encode("ascii"), dtype=np.uint8)].tolist()
            else:
                cached = self._backend.encode(chunk, add_special_tokens=False).ids
                if len(cache) < self.CACHE_LIMIT:
                    cache[chunk] = cached
                ids += cached
        return ids


@dataclass
class StreamSpec:
    """Everything a data worker needs to rebuild its stream (picklable: it crosses process boundaries)."""

    mixture: Mixture
    encoder_spec: str
    max_seq_len: int


def examples(tokenizer, spec: StreamSpec, seed: int) -> Iterator[dict]:
    """Endless tokenised examples from one seed, skipping (and counting) those longer than max_seq_len."""
    formatter = ChatFormatter(tokenizer)
    encoder = get_encoder(spec.encoder_spec)
    skipped = consecutive = 0
    shortest = None
    for task in task_stream(seed, spec.mixture):
        ex = formatter.example(task, encoder)
        n = len(ex["input_ids"])
        if n > spec.max_seq_len:
            skipped += 1
            consecutive += 1
            shortest = n if shortest is None else min(shortest, n)
            if consecutive >= MAX_CONSECUTIVE_SKIPS:
                raise ValueError(
                    f"--max-seq-len {spec.max_seq_len} fits no sample: {consecutive} in a row were longer "
                    f"(shortest {shortest} tokens); raise it or shrink the tasks (--max-side, --n-inputs)"
                )
            continue
        consecutive = 0
        # Report skips since the previous example, so a consumer can sum them without double counting.
        ex["skipped"], skipped = skipped, 0
        yield ex


def _shard_generator(seeds: list[int], tokenizer, spec: StreamSpec) -> Iterator[dict]:
    # datasets hands each worker a sublist of shards; one shard per worker is the normal case, and more
    # than one are interleaved so none of them starves.
    streams = [examples(tokenizer, spec, seed) for seed in seeds]
    for stream in itertools.cycle(streams):
        yield next(stream)


def shard_seeds(base_seed: int, world_size: int, num_workers: int, resume_step: int) -> list[int]:
    """One seed per (rank, worker) shard; the resume step is part of the key so a resumed run draws fresh tasks."""
    workers = max(num_workers, 1)
    return [derive_seed(base_seed, rank, worker, resume_step) for rank in range(world_size) for worker in range(workers)]


def train_dataset(tokenizer, spec: StreamSpec, base_seed: int, world_size: int, num_workers: int, resume_step: int):
    """The training stream as an IterableDataset with world_size x workers shards, each its own seed.

    With dispatch_batches=False, accelerate (>=1.8) gives each rank n_shards / world_size of them and
    the DataLoader gives each of its workers one, so no two workers on any rank share a stream.
    """
    from datasets import IterableDataset

    seeds = shard_seeds(base_seed, world_size, num_workers, resume_step)
    return IterableDataset.from_generator(
        _shard_generator, gen_kwargs={"seeds": seeds, "tokenizer": tokenizer, "spec": spec}
    )


def eval_dataset(tokenizer, spec: StreamSpec, base_seed: int, n: int):
    """A fixed, map-style validation set from its own seed (the same for every run with this seed)."""
    from datasets import Dataset

    stream = examples(tokenizer, spec, derive_seed(base_seed, EVAL_KEY))
    rows = [{k: ex[k] for k in ("input_ids", "labels")} for ex in itertools.islice(stream, n)]
    return Dataset.from_list(rows)


def probe_lengths(tokenizer, spec: StreamSpec, base_seed: int, n: int = 64) -> list[int]:
    """Token lengths of the first n examples that fit, from a probe seed: fails fast if none fit."""
    stream = examples(tokenizer, spec, derive_seed(base_seed, PROBE_KEY))
    return [len(ex["input_ids"]) for ex in itertools.islice(stream, n)]


class BatchCollator:
    """trl's collator plus bookkeeping: the batch's codes (for --dump-samples) and how many samples were skipped."""

    def __init__(self, base):
        self.base = base

    def __call__(self, rows: list[dict]) -> dict:
        batch = self.base([{"input_ids": r["input_ids"], "labels": r["labels"]} for r in rows])
        if "code" in rows[0]:
            batch["arc25_meta"] = {
                "code": [r["code"] for r in rows],
                "generator": [r["generator"] for r in rows],
                "n_draws": [r["n_draws"] for r in rows],
                "skipped": sum(r["skipped"] for r in rows),
            }
        return batch
