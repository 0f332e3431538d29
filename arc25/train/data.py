"""Training data: the task stream, tokenised into prompt/completion examples, as a sharded IterableDataset.

Each example carries ``input_ids`` and ``labels`` (-100 on the prompt, so the loss covers only the
assistant's code and its end-of-turn token) plus ``code`` and ``skipped`` for bookkeeping. Examples
longer than ``max_seq_len`` are skipped, never truncated: a cut-off program teaches broken code.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from typing import ClassVar, Iterator


from arc25.prompts.encoders import get_encoder
from arc25.prompts.chat import ChatFormatter
from arc25.prompts.prompting import DEFAULT_PROMPT_STYLE
from arc25.tasks import Mixture, derive_seed, task_stream

# Keys that separate the streams of one run: shard seeds get (rank, worker, resume step); these get one key.
EVAL_KEY = 1_000_003
PROBE_KEY = 1_000_033
GROUP_KEY = 1_000_037
# This many too-long samples in a row means --max-seq-len cannot fit the mixture at all. The start-up probe
# catches that case early; this bound only guards the stream, so it is set where a small fit fraction
# (the journal's 512-token runs keep ~1% of the default mixture) never trips it by chance.
MAX_CONSECUTIVE_SKIPS = 10_000

@dataclass
class StreamSpec:
    """Everything a data worker needs to rebuild its stream (picklable: it crosses process boundaries)."""

    mixture: Mixture
    encoder_spec: str
    max_seq_len: int
    prompt_style: str = DEFAULT_PROMPT_STYLE
    # trl's name: False trains on the prompt's tokens too (the grids, the changes), not only on the program's.
    completion_only_loss: bool = True
    # With the prompt in the loss: what one prompt token counts for against one program token (1: the same).
    prompt_loss_weight: float = 1.0


def _tokenised(tokenizer, spec: StreamSpec, seed: int) -> Iterator[dict]:
    """Every task of one seed's stream as a tokenised example, whatever its length."""
    formatter = ChatFormatter(tokenizer, spec.prompt_style)
    encoder = get_encoder(spec.encoder_spec)
    for task in task_stream(seed, spec.mixture):
        yield formatter.example(task, encoder)


def examples(tokenizer, spec: StreamSpec, seed: int) -> Iterator[dict]:
    """Endless tokenised examples from one seed, skipping (and counting) those longer than max_seq_len."""
    skipped = consecutive = 0
    shortest = None
    for ex in _tokenised(tokenizer, spec, seed):
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


def group_by_length(stream: Iterator[dict], window: int, batch_size: int, seed: int) -> Iterator[dict]:
    """Reorder a stream so each run of ``batch_size`` examples has similar lengths: less padding per batch.

    Reads ``window`` examples (rounded up to whole batches), sorts them by length, cuts them into batches and
    yields the batches in a shuffled order, so a step's batch length stays random. Nothing is dropped or
    repeated, and the order is a function of ``seed``. It only lines up with the DataLoader's batches when
    each worker reads one generator from its start, which is how train_dataset shards the stream.
    """
    window = -(-max(window, 1) // batch_size) * batch_size
    rng = random.Random(seed)
    while True:
        buffer = list(itertools.islice(stream, window))
        if not buffer:
            return
        # Stable sort on length alone: ties keep stream order, so the result depends on nothing but the seed.
        buffer.sort(key=lambda ex: len(ex["input_ids"]))
        batches = [buffer[i : i + batch_size] for i in range(0, len(buffer), batch_size)]
        rng.shuffle(batches)
        for batch in batches:
            yield from batch


def pack_to_budget(stream: Iterator[dict], token_budget: int) -> Iterator[dict]:
    """Whole samples, in stream order, gathered into packs of at most ``token_budget`` tokens: {"samples": [...]}.

    A pack closes when the next sample would overflow it, so no sample is split, dropped or repeated; each sample
    must fit a pack alone (the budget is at least --max-seq-len). BatchCollator lays a pack out as one row.
    """
    pack: list[dict] = []
    filled = 0
    for ex in stream:
        n = len(ex["input_ids"])
        if n > token_budget:
            raise ValueError(f"a {n}-token sample does not fit --token-budget {token_budget}")
        if pack and filled + n > token_budget:
            yield {"samples": pack}
            pack, filled = [], 0
        pack.append(ex)
        filled += n
    if pack:
        yield {"samples": pack}


def micro_batches_per_step(batch_size: int, world: int, token_budget: int, sample_tokens: float) -> int:
    """Packed rows per optimizer step and rank so a step holds about ``batch_size`` samples over all ranks.

    A row holds about ``token_budget / sample_tokens`` samples (the mean length of samples that fit); the count
    varies from step to step, and the loss stays the mean over the step's label tokens whatever it is.
    """
    per_row = max(1.0, token_budget / max(sample_tokens, 1.0))
    return max(1, round(batch_size / (world * per_row)))


def _shard_generator(seeds: list[int], tokenizer, spec: StreamSpec, group_window: int = 0,
                     batch_size: int = 1, token_budget: int | None = None) -> Iterator[dict]:
    # datasets calls this once per shard with that shard's one-seed slice of the list (it runs a worker's
    # shards one after another, so an endless shard must be a worker's only one: see train_dataset).
    (seed,) = seeds
    stream = examples(tokenizer, spec, seed)
    if not spec.completion_only_loss:
        # Training only: validation keeps the program's loss alone, comparable across runs and token classes.
        stream = (prompt_in_loss(ex, spec.prompt_loss_weight) for ex in stream)
    if group_window > 0:
        stream = group_by_length(stream, group_window, batch_size, derive_seed(seed, GROUP_KEY))
    if token_budget:
        stream = pack_to_budget(stream, token_budget)
    yield from stream


def prompt_in_loss(ex: dict, prompt_weight: float = 1.0) -> dict:
    """The example with its prompt's tokens labelled too; below weight 1, each token's loss weight goes along.

    ``loss_weights`` (one per token: ``prompt_weight`` where the label was -100, 1 on the program) is what
    ArcTrainer.compute_loss weighs the per-token losses by; at weight 1 there is none, and the loss is trl's.
    """
    out = dict(ex, labels=list(ex["input_ids"]))
    if prompt_weight != 1.0:
        out["loss_weights"] = [prompt_weight if label == -100 else 1.0 for label in ex["labels"]]
    return out


def shard_seeds(base_seed: int, world_size: int, num_workers: int, resume_step: int) -> list[int]:
    """One seed per (rank, worker) shard; the resume step is part of the key so a resumed run draws fresh tasks."""
    workers = max(num_workers, 1)
    return [derive_seed(base_seed, rank, worker, resume_step) for rank in range(world_size) for worker in range(workers)]


def train_dataset(tokenizer, spec: StreamSpec, base_seed: int, world_size: int, num_workers: int, resume_step: int,
                  group_by_length_window: int = 0, batch_size: int = 1, token_budget: int | None = None):
    """The training stream as an IterableDataset with world_size x workers shards, each its own seed.

    With dispatch_batches=False, accelerate (>=1.8) gives each rank n_shards / world_size of them and
    the DataLoader gives each of its workers one, so no two workers on any rank share a stream.
    ``group_by_length_window`` > 0 batches similar lengths together (see group_by_length); ``batch_size``
    must then be the per-device batch size. ``token_budget`` makes each item a pack of whole samples up to that
    many tokens (pack_to_budget), one padding-free row once collated; grouping is then left off (no padding to cut).
    """
    from datasets import IterableDataset

    seeds = shard_seeds(base_seed, world_size, num_workers, resume_step)
    return IterableDataset.from_generator(
        _shard_generator, gen_kwargs={"seeds": seeds, "tokenizer": tokenizer, "spec": spec,
                                      "group_window": 0 if token_budget else group_by_length_window,
                                      "batch_size": batch_size, "token_budget": token_budget}
    )


def eval_dataset(tokenizer, spec: StreamSpec, base_seed: int, n: int):
    """A fixed, map-style validation set from its own seed (the same for every run with this seed)."""
    from datasets import Dataset

    stream = examples(tokenizer, spec, derive_seed(base_seed, EVAL_KEY))
    rows = [{k: ex[k] for k in ("input_ids", "labels")} for ex in itertools.islice(stream, n)]
    return Dataset.from_list(rows)


def probe(tokenizer, spec: StreamSpec, base_seed: int, n_fit: int = 32, max_tries: int = 2000) -> dict:
    """Token lengths of probe-seed tasks: how many fit in max_seq_len; raises if none of max_tries does."""
    fit, tried = [], []  # token lengths
    for ex in itertools.islice(_tokenised(tokenizer, spec, derive_seed(base_seed, PROBE_KEY)), max_tries):
        n = len(ex["input_ids"])
        tried.append(n)
        if n <= spec.max_seq_len:
            fit.append(n)
            if len(fit) == n_fit:
                break
    if not fit:
        raise ValueError(
            f"--max-seq-len {spec.max_seq_len} fits no sample: none of {len(tried)} was short enough "
            f"(shortest {min(tried)} tokens); raise it or shrink the tasks (--max-side, --n-inputs)"
        )
    return {"fit_fraction": len(fit) / len(tried), "tokens_mean": sum(tried) / len(tried), "tokens_max": max(tried),
            "fit_tokens_mean": sum(fit) / len(fit)}


@dataclass(frozen=True)
class BatchStats:
    """What one training batch holds besides its tensors: for the throughput metrics and --dump-samples.

    It rides in the batch under ``KEY`` (the collator runs in data worker processes, and the batch is the only
    thing that comes back from them); arc25.train.trainer.ArcTrainer takes it out as the batch arrives, before
    anything else sees the batch, and hands it to its observers.
    """

    KEY: ClassVar[str] = "arc25_stats"

    codes: tuple[str, ...]
    generators: tuple[str, ...]
    n_draws: tuple[int, ...]
    skipped: int  # too-long samples the stream dropped since the previous batch's samples
    real_tokens: int
    padded_tokens: int  # what the model runs over: rows x padded width (one row, no padding, when padding-free)
    label_tokens: int
    sum_sq_len: int
    worker: int = 0  # the data worker that built the batch (0 also when the main process did)

    @property
    def n_samples(self) -> int:
        return len(self.codes)


def _worker_id() -> int:
    from torch.utils.data import get_worker_info

    info = get_worker_info()
    return info.id if info is not None else 0


def packed_row(rows: list[dict], pad_token_id: int, pad_to_multiple_of: int | None = None) -> dict:
    """Samples laid end to end in one row: position ids restart per sample, and the sample offsets go along.

    The offsets (``cu_seq_lens_q``/``_k``, ``max_length_q``/``_k``: flash attention's names, which transformers
    hands to the attention function) let a varlen attention keep samples apart without a mask. A sample's first
    label is -100: it would be predicted from the previous sample's last token. Built from the rows' lengths, so
    nothing reads a tensor back (trl's padding-free collator finds the starts with ``nonzero`` and ``.item()``).
    Padding up to ``pad_to_multiple_of`` forms a last segment of its own, all labels -100.
    """
    import torch

    lengths = [len(r["input_ids"]) for r in rows]
    ids = [t for r in rows for t in r["input_ids"]]
    labels = [t if i else -100 for r in rows for i, t in enumerate(r["labels"])]
    pad = -len(ids) % pad_to_multiple_of if pad_to_multiple_of else 0
    if pad:
        lengths.append(pad)
        ids += [pad_token_id] * pad
        labels += [-100] * pad
    offsets = list(itertools.accumulate(lengths, initial=0))
    cu_seq_lens = torch.tensor(offsets, dtype=torch.int32)
    extra = {}
    if "loss_weights" in rows[0]:
        extra["loss_weights"] = torch.tensor([[w for r in rows for w in r["loss_weights"]] + [0.0] * pad])
    return extra | {
        "input_ids": torch.tensor([ids]),
        "labels": torch.tensor([labels]),
        "position_ids": torch.tensor([[i for n in lengths for i in range(n)]]),
        "cu_seq_lens_q": cu_seq_lens, "cu_seq_lens_k": cu_seq_lens,
        "max_length_q": max(lengths), "max_length_k": max(lengths),
        # Which sample each token belongs to: the short convolutions of linear-attention layers read it.
        "seq_idx": torch.tensor([[k for k, n in enumerate(lengths) for _ in range(n)]], dtype=torch.int32),
    }


class BatchCollator:
    """trl's collator (its padding-free layout from packed_row), plus the batch's BatchStats for training rows.

    A batch without padding (one row, or rows of one length) goes without its attention mask: an all-ones mask
    only makes the model check, on the device, that it is all ones (a sync per forward) before taking the
    causal path it would take without one. Packs from pack_to_budget are taken apart into their samples.
    """

    def __init__(self, base):
        self.base = base

    def __call__(self, rows: list[dict]) -> dict:
        import torch

        if "samples" in rows[0]:
            rows = [ex for pack in rows for ex in pack["samples"]]
        if self.base.padding_free:
            batch = packed_row(rows, self.base.pad_token_id, self.base.pad_to_multiple_of)
        else:
            batch = self.base([{"input_ids": r["input_ids"], "labels": r["labels"]} for r in rows])
            if "loss_weights" in rows[0]:
                # trl pads on the right: each row's weights from the left, zeros on its padding.
                weights = torch.zeros(batch["input_ids"].shape)
                for i, r in enumerate(rows):
                    weights[i, : len(r["loss_weights"])] = torch.tensor(r["loss_weights"])
                batch["loss_weights"] = weights
        lengths = [len(r["input_ids"]) for r in rows]
        if "attention_mask" in batch and min(lengths) == max(lengths):
            del batch["attention_mask"]
        # Only training rows carry their code; the validation set is bare input_ids and labels.
        if "code" in rows[0]:
            batch[BatchStats.KEY] = BatchStats(
                codes=tuple(r["code"] for r in rows),
                generators=tuple(r["generator"] for r in rows),
                n_draws=tuple(r["n_draws"] for r in rows),
                skipped=sum(r["skipped"] for r in rows),
                real_tokens=sum(lengths),
                padded_tokens=batch["input_ids"].numel(),
                # Padding only adds -100s: counted on the rows, no tensor is read.
                label_tokens=sum(len(r["labels"]) - r["labels"].count(-100) for r in rows),
                sum_sq_len=sum(n * n for n in lengths),
                worker=_worker_id(),
            )
        return batch
