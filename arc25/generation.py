"""Batched sampling from a causal LM: chat-template prompts, left padding, greedy or seeded temperature sampling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from arc25.prompting import DEFAULT_PROMPT_STYLE, prompt_messages
from arc25.tasks import derive_seed

__all__ = ["Completion", "generate_completions", "prompt_text"]


def prompt_text(tokenizer, train_inputs, train_outputs, encoder, prompt_style: str = DEFAULT_PROMPT_STYLE) -> str:
    """The inference prompt: system + user messages through the chat template, ending in the assistant header."""
    messages = prompt_messages(train_inputs, train_outputs, encoder, prompt_style)
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


@dataclass
class Completion:
    """One generated reply: its text, how many tokens it took, and whether it ended with EOS (not the length cap)."""

    text: str
    n_tokens: int
    finished: bool


def _seeded_sampler(temperature: float, seed: int):
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
            probs = torch.softmax(scores.float() / temperature, dim=-1)
            choice = torch.multinomial(probs, 1, generator=self.generator)
            one_hot = torch.full_like(scores, float("-inf"))
            return one_hot.scatter_(1, choice, 0.0)

    return SeededSampler()


def _eos_ids(model, tokenizer) -> list[int]:
    # Chat models often stop on several tokens (Qwen: <|im_end|> and <|endoftext|>); honour all of them.
    ids = {tokenizer.eos_token_id}
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if isinstance(configured, int):
        ids.add(configured)
    elif configured:
        ids.update(configured)
    return sorted(i for i in ids if i is not None)


def _generation_config(model, tokenizer, max_new_tokens: int):
    from transformers import GenerationConfig

    # Unset knobs are filled from the model's generation_config.json, and chat models ship sampling defaults
    # and repetition penalties: decoding is pinned to plain greedy here (sampling is our logits processor's).
    # The sampling knobs get their neutral values only so that inherited ones do not trigger warnings.
    return GenerationConfig(
        max_new_tokens=max_new_tokens, do_sample=False, num_beams=1, temperature=1.0, top_k=50, top_p=1.0,
        repetition_penalty=1.0, no_repeat_ngram_size=0, eos_token_id=_eos_ids(model, tokenizer),
        pad_token_id=tokenizer.pad_token_id, use_cache=True,
    )


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
) -> list[Completion]:
    """Complete each tokenised prompt once (temperature 0 = greedy), in batches; results keep the prompts' order.

    With ``synced_gpus`` every rank must pass the same number of prompts: each batch then steps in lockstep
    across ranks, as sharded models (FSDP, ZeRO-3) need.
    """
    import torch
    from transformers import LogitsProcessorList

    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    pad_id = tokenizer.pad_token_id
    if pad_id is None:
        raise ValueError("the tokenizer has no pad token; batched generation needs one")
    eos_ids = set(_eos_ids(model, tokenizer))
    gen_config = _generation_config(model, tokenizer, max_new_tokens)
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
                processors.append(_seeded_sampler(temperature, derive_seed(seed, batch_index)))
            with torch.no_grad():
                output = model.generate(
                    input_ids=input_ids.to(device), attention_mask=attention_mask.to(device),
                    generation_config=gen_config, logits_processor=processors, synced_gpus=synced_gpus,
                )
            new_tokens = output[:, width:].tolist()
            for r, i in enumerate(rows):
                tokens = new_tokens[r]
                end = next((k for k, t in enumerate(tokens) if t in eos_ids), None)
                kept = tokens if end is None else tokens[:end]
                results[i] = Completion(
                    text=tokenizer.decode(kept, skip_special_tokens=True), n_tokens=len(kept), finished=end is not None
                )
            if progress is not None:
                progress(len(rows))
    finally:
        if was_training:
            model.train()
    return results
