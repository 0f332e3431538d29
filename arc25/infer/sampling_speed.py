"""Predictions per second of each way to draw many replies to one prompt: what arc25-benchmark-sampling reports.

Methods: generate (``generate_completions`` on the prompt repeated n times: every row re-encodes the prompt),
generate-static (the same with a static KV cache), shared-prefill (``sample_completions``: one prefill, rows
leave as they finish), continuous-batching (transformers' ``generate_batch``: paged KV cache, CUDA graphs on a
GPU; it decodes greedily, since its sampling would draw from the global RNG: fine for a speed figure only).
"""

from __future__ import annotations

import time

from arc25.infer.generation import (Completion, decode_completion, eos_token_ids, generate_completions,
                              sample_completions)

SAMPLING_METHODS = ("generate", "generate-static", "shared-prefill", "continuous-batching")


def _continuous_batching(model, tokenizer, prompt: list[int], n: int, max_new_tokens: int) -> list[Completion]:
    from transformers import GenerationConfig

    eos_ids = eos_token_ids(model, tokenizer)
    config = GenerationConfig(max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=eos_ids,
                              pad_token_id=tokenizer.pad_token_id)
    was_training = model.training
    model.eval()
    try:
        outputs = model.generate_batch(inputs=[list(prompt)] * n, generation_config=config)
    finally:
        if was_training:
            model.train()
    return [decode_completion(tokenizer, list(o.generated_tokens), set(eos_ids)) for o in outputs.values()]


def benchmark_sampling(
    model, tokenizer, prompt: list[int], n: int, *, max_new_tokens: int, temperature: float = 0.9,
    top_p: float = 0.95, batch_size: int = 64, seed: int = 0, methods: tuple[str, ...] = ("generate", "shared-prefill"),
) -> dict[str, dict]:
    """Seconds, predictions/s and new tokens/s of each method on n replies to one tokenised prompt."""
    import torch

    unknown = [m for m in methods if m not in SAMPLING_METHODS]
    if unknown:
        raise ValueError(f"unknown sampling method {unknown[0]!r}; valid: {', '.join(SAMPLING_METHODS)}")
    figures = {}
    for method in methods:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        started = time.perf_counter()
        if method == "shared-prefill":
            done = sample_completions(model, tokenizer, prompt, n, max_new_tokens=max_new_tokens,
                                      temperature=temperature, top_p=top_p, seed=seed, batch_size=batch_size)
        elif method == "continuous-batching":
            done = _continuous_batching(model, tokenizer, prompt, n, max_new_tokens)
        else:
            done = generate_completions(
                model, tokenizer, [prompt] * n, max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p,
                seed=seed, batch_size=batch_size, cache_implementation="static" if method == "generate-static" else None,
            )
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        seconds = time.perf_counter() - started
        figures[method] = {
            "seconds": round(seconds, 3), "predictions_per_s": round(n / seconds, 2),
            "new_tokens_per_s": round(sum(c.n_tokens for c in done) / seconds, 1),
            "mean_new_tokens": round(sum(c.n_tokens for c in done) / max(n, 1), 1),
        }
    return figures
