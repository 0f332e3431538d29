"""Prompts in, programs out: a task's inference prompt as tokens, batched greedy or seeded temperature/top-p sampling.

``encode_prompts`` tokenises a task's train pairs exactly as training tokenises the text before the code
(through ``arc25.prompts.chat.ChatFormatter``: one path for both), and ``too_long`` is the one check of whether a prompt
leaves room for the reply.

``generate_completions`` completes many prompts once each through ``model.generate``. ``sample_completions``
draws many replies to ONE prompt: it runs the prompt through the model once and copies its key/value cache to
every row, so the prompt (most of the tokens, for grids) is never re-encoded per sample, and rows that have
finished leave the batch instead of decoding padding until the longest is done.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from arc25.models.compat import cache_argument
from arc25.prompts.chat import ChatFormatter
from arc25.prompts.encoders import get_encoder
from arc25.prompts.prompting import DEFAULT_PROMPT_STYLE, prompt_messages
from arc25.tasks import derive_seed

__all__ = [
    "Completion", "PromptEncoder", "decode_completion", "encode_prompts", "eos_token_ids", "generate_completions",
    "sample_completions", "sample_token", "too_long",
]


class PromptEncoder:
    """Token ids of a task's inference prompt (its train pairs only), ending in the assistant header.

    Built on training's ChatFormatter, so the ids are the ones a model saw before the code of every training
    sample. Keep one per tokenizer and style: building one renders the chat template and checks the fast path.
    """

    def __init__(self, tokenizer, encoder_spec: str, prompt_style: str = DEFAULT_PROMPT_STYLE):
        self.formatter = ChatFormatter(tokenizer, prompt_style)
        self.encoder = get_encoder(encoder_spec)

    def __call__(self, task) -> list[int]:
        messages = prompt_messages(task.train_inputs, task.train_outputs, self.encoder, self.formatter.prompt_style)
        return self.formatter.encode(self.formatter.prompt(messages[1]["content"]))


def encode_prompts(tokenizer, tasks, encoder_spec: str, prompt_style: str = DEFAULT_PROMPT_STYLE) -> list[list[int]]:
    """Token ids of each task's inference prompt (see PromptEncoder)."""
    encode = PromptEncoder(tokenizer, encoder_spec, prompt_style)
    return [encode(task) for task in tasks]


def too_long(n_prompt_tokens: int, max_new_tokens: int, max_seq_len: int) -> str | None:
    """Why a prompt of this length leaves no room for a reply of max_new_tokens within max_seq_len; None if it fits."""
    if n_prompt_tokens + max_new_tokens <= max_seq_len:
        return None
    return f"prompt of {n_prompt_tokens} tokens + {max_new_tokens} new tokens exceeds --max-seq-len {max_seq_len}"


@dataclass
class Completion:
    """One generated reply: its text, how many tokens it took, and whether it ended with EOS (not the length cap)."""

    text: str
    n_tokens: int
    finished: bool


def sample_token(logits, temperature: float, top_p: float, generator):
    """Next token per row from [rows, vocab] logits: greedy at temperature 0, else temperature + nucleus (top-p).

    Every draw comes from ``generator``: transformers' own sampling would use the global RNG.
    """
    import torch

    if temperature == 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        # Keep the most likely tokens until their mass reaches top_p; the most likely one always stays.
        outside = sorted_probs.cumsum(dim=-1) - sorted_probs >= top_p
        sorted_probs = sorted_probs.masked_fill(outside, 0.0)
        choice = torch.multinomial(sorted_probs, 1, generator=generator)
        return order.gather(-1, choice).squeeze(-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def _seeded_sampler(temperature: float, seed: int, top_p: float = 1.0):
    """A logits processor that samples the next token itself, from its own torch.Generator.

    transformers' sampling draws from the global RNG; doing the draw here and handing greedy decoding a
    one-hot distribution keeps every random choice on an explicit, seeded generator.
    """
    import torch
    from transformers import LogitsProcessor

    class SeededSampler(LogitsProcessor):
        def __init__(self):
            self.generator = None

        def __call__(self, input_ids, scores):
            if self.generator is None or self.generator.device != scores.device:
                self.generator = torch.Generator(device=scores.device).manual_seed(seed)
            choice = sample_token(scores, temperature, top_p, self.generator)
            one_hot = torch.full_like(scores, float("-inf"))
            return one_hot.scatter_(1, choice[:, None], 0.0)

    return SeededSampler()


def eos_token_ids(model, tokenizer) -> list[int]:
    """Every token id that ends a reply."""
    # Chat models often stop on several tokens (Qwen: <|im_end|> and <|endoftext|>); honour all of them.
    ids = {tokenizer.eos_token_id}
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if isinstance(configured, int):
        ids.add(configured)
    elif configured:
        ids.update(configured)
    return sorted(i for i in ids if i is not None)


def _generation_config(model, tokenizer, max_new_tokens: int, cache_implementation: str | None = None):
    from transformers import GenerationConfig

    # Unset knobs are filled from the model's generation_config.json, and chat models ship sampling defaults
    # and repetition penalties: decoding is pinned to plain greedy here (sampling is our logits processor's).
    # The sampling knobs get their neutral values only so that inherited ones do not trigger warnings.
    return GenerationConfig(
        max_new_tokens=max_new_tokens, do_sample=False, num_beams=1, temperature=1.0, top_k=50, top_p=1.0,
        repetition_penalty=1.0, no_repeat_ngram_size=0, eos_token_id=eos_token_ids(model, tokenizer),
        pad_token_id=tokenizer.pad_token_id, use_cache=True, cache_implementation=cache_implementation,
    )


def _check_sampling(temperature: float, top_p: float, batch_size: int) -> None:
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")


def decode_completion(tokenizer, tokens: list[int], eos_ids: set[int]) -> Completion:
    """New tokens as a reply: cut at the first end-of-sequence token, which marks it finished."""
    end = next((k for k, t in enumerate(tokens) if t in eos_ids), None)
    kept = tokens if end is None else tokens[:end]
    text = tokenizer.decode(kept, skip_special_tokens=True)
    return Completion(text=text, n_tokens=len(kept), finished=end is not None)


def generate_completions(
    model,
    tokenizer,
    prompts: list[list[int]],
    *,
    max_new_tokens: int,
    temperature: float = 0.0,
    seed: int = 0,
    batch_size: int = 16,
    synced_gpus: bool = False,
    progress: Callable[[int], None] | None = None,
    top_p: float = 1.0,
    cache_implementation: str | None = None,
) -> list[Completion]:
    """Complete each tokenised prompt once (temperature 0 = greedy), in batches; results keep the prompts' order.

    With ``synced_gpus`` every rank must pass the same number of prompts: each batch then steps in lockstep
    across ranks, as sharded models (FSDP, ZeRO-3) need.
    """
    import torch
    from transformers import LogitsProcessorList

    _check_sampling(temperature, top_p, batch_size)
    pad_id = tokenizer.pad_token_id
    if pad_id is None:
        raise ValueError("the tokenizer has no pad token; batched generation needs one")
    eos_ids = set(eos_token_ids(model, tokenizer))
    gen_config = _generation_config(model, tokenizer, max_new_tokens, cache_implementation)
    device = model.get_input_embeddings().weight.device
    # Longest first: similar lengths share a batch (less padding) and an out-of-memory shows up at once.
    order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
    results: list[Completion | None] = [None] * len(prompts)
    was_training = model.training
    model.eval()
    try:
        for batch_index, start in enumerate(range(0, len(order), batch_size)):
            rows = order[start : start + batch_size]
            width = max(len(prompts[i]) for i in rows)
            input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
            attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
            for r, i in enumerate(rows):
                ids = prompts[i]
                input_ids[r, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
                attention_mask[r, width - len(ids) :] = 1
            processors = LogitsProcessorList()
            if temperature > 0:
                # One seed per batch, so a batch's samples do not depend on how many batches came before.
                processors.append(_seeded_sampler(temperature, derive_seed(seed, batch_index), top_p))
            with torch.no_grad():
                output = model.generate(
                    input_ids=input_ids.to(device), attention_mask=attention_mask.to(device),
                    generation_config=gen_config, logits_processor=processors, synced_gpus=synced_gpus,
                )
            new_tokens = output[:, width:].tolist()
            for r, i in enumerate(rows):
                results[i] = decode_completion(tokenizer, new_tokens[r], eos_ids)
            if progress is not None:
                progress(len(rows))
    finally:
        if was_training:
            model.train()
    return results


def sample_completions(
    model,
    tokenizer,
    prompt: list[int],
    n: int,
    *,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_p: float = 1.0,
    seed: int = 0,
    batch_size: int = 64,
    progress: Callable[[int], None] | None = None,
) -> list[Completion]:
    """n replies to one tokenised prompt, decoded batch_size rows at a time from one shared prefill.

    Each batch of rows draws from its own generator seeded by (seed, batch index), so the replies depend on
    the seed and the batch size only, never on what ran before. Temperature 0 gives n greedy (equal) replies.
    """
    import copy

    import torch

    _check_sampling(temperature, top_p, batch_size)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if not prompt:
        raise ValueError("the prompt is empty")
    if n == 0:
        return []
    eos_ids = set(eos_token_ids(model, tokenizer))
    device = model.get_input_embeddings().weight.device
    eos = torch.tensor(sorted(eos_ids), device=device)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else -1
    results: list[Completion] = []
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            from transformers import DynamicCache

            prefix = DynamicCache(config=model.config)
            cache_kwarg = cache_argument(model)
            first_logits = model(input_ids=torch.tensor([prompt], device=device), use_cache=True,
                                 **{cache_kwarg: prefix}).logits[:, -1, :]
            for batch_index, start in enumerate(range(0, n, batch_size)):
                rows = min(batch_size, n - start)
                generator = torch.Generator(device=device).manual_seed(derive_seed(seed, batch_index))
                cache = copy.deepcopy(prefix)
                cache.batch_repeat_interleave(rows)
                tokens = torch.full((rows, max_new_tokens), pad_id, dtype=torch.long, device=device)
                alive = torch.arange(rows, device=device)
                logits = first_logits.expand(rows, -1)
                for step in range(max_new_tokens):
                    chosen = sample_token(logits, temperature, top_p, generator)
                    tokens[alive, step] = chosen
                    running = ~torch.isin(chosen, eos)
                    if step == max_new_tokens - 1 or not bool(running.any()):
                        break
                    if not bool(running.all()):
                        # Finished rows leave the cache: later steps cost only what is still being written.
                        keep = running.nonzero().squeeze(1)
                        cache.batch_select_indices(keep)
                        alive, chosen = alive[keep], chosen[keep]
                    logits = model(input_ids=chosen[:, None], use_cache=True, **{cache_kwarg: cache}).logits[:, -1, :]
                del cache
                results += [decode_completion(tokenizer, row, eos_ids) for row in tokens.tolist()]
                if progress is not None:
                    progress(rows)
    finally:
        if was_training:
            model.train()
    return results
