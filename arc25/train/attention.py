"""Attention over padding-free rows with no mask: each packed sample attends to itself alone.

A packed row (arc25.train.data's --packing and --token-budget batches) carries ``cu_seq_lens_q``, the offsets where its
samples start. transformers' sdpa turns the row's restarting position ids into a dense T x T block-diagonal mask,
whose size and cost grow with the square of the row; this attention reads the offsets instead and builds no mask:

- on CUDA in bf16/fp16, PyTorch's own variable-length flash kernel (``torch.nn.attention.varlen``);
- elsewhere (CPU, fp32), causal sdpa over each sample's slice of the row: what sdpa computes for the sample alone,
  so the numbers are the unpacked run's.

A batch without offsets (validation, generation) goes to transformers' sdpa with its usual mask, so the same model
serves every forward. Registered under ``NAME`` with transformers' attention and mask registries.
"""

from __future__ import annotations

import functools
import inspect

import torch

NAME = "sdpa_varlen"


def _segments(cu_seq_lens) -> list[tuple[int, int]]:
    bounds = cu_seq_lens.tolist()
    return list(zip(bounds[:-1], bounds[1:]))


@functools.cache
def _cuda_varlen():
    """torch's varlen_attn, its causal keyword (``is_causal`` in torch 2.10, ``window_size`` after) and its other
    keywords, or None where this torch has none."""
    try:
        from torch.nn.attention.varlen import varlen_attn
    except ImportError:
        return None
    params = set(inspect.signature(varlen_attn).parameters)
    if "window_size" in params:
        return varlen_attn, {"window_size": (-1, 0)}, params
    if "is_causal" in params:
        return varlen_attn, {"is_causal": True}, params
    return None


def _kernel(query, dropout: float, scaling):
    """torch's varlen kernel, its options and keywords, where it serves this call: CUDA, half precision, no dropout,
    and a scale it takes (a torch without the keyword applies the default 1/sqrt(head_dim) alone)."""
    if not (query.is_cuda and query.dtype in (torch.float16, torch.bfloat16)) or dropout:
        return None
    kernel = _cuda_varlen()
    if kernel is None:
        return None
    if "scale" not in kernel[2] and scaling is not None and abs(scaling - query.shape[-1] ** -0.5) > 1e-6:
        return None
    return kernel


def varlen_attention(module, query, key, value, attention_mask, dropout: float = 0.0, scaling=None,
                     sliding_window=None, cu_seq_lens_q=None, max_length_q=None, **kwargs):
    """transformers' attention signature: query (1, H, T, D), key/value (1, H_kv, T, D) -> ((1, T, H, D), None)."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if cu_seq_lens_q is None or attention_mask is not None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      sliding_window=sliding_window, **kwargs)
    if sliding_window is not None:
        raise ValueError(f"attention {NAME!r} attends over whole samples; this model has a sliding window "
                         f"({sliding_window}): use flash_attention_2 or flex_attention")
    if query.shape[0] != 1:
        raise ValueError(f"attention {NAME!r} expects one packed row per batch, got {query.shape[0]}")
    gqa = query.shape[1] != key.shape[1]
    kernel = _kernel(query, dropout, scaling)
    if kernel is not None:
        varlen_attn, options, params = kernel
        q, k, v = (t[0].transpose(0, 1) for t in (query, key, value))  # (T, H, D): the kernel's layout
        if gqa and "enable_gqa" in params:
            options = dict(options, enable_gqa=True)
        elif gqa:
            groups = q.shape[1] // k.shape[1]
            k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
        if scaling is not None and "scale" in params:
            options = dict(options, scale=scaling)
        cu = cu_seq_lens_q.to(device=query.device, dtype=torch.int32)
        out = varlen_attn(q, k, v, cu, cu, int(max_length_q), int(max_length_q), **options)
        return out.unsqueeze(0), None
    return _per_sample(query, key, value, cu_seq_lens_q, dropout, scaling, gqa), None


# Reads the offsets on the host: free on CPU, a sync per layer on a GPU without torch's varlen kernel. Left out of
# compiled code (arc25.train.compile): traced, the read would break the graph and every row's boundaries would be baked
# into a new compile.
@torch.compiler.disable
def _per_sample(query, key, value, cu_seq_lens_q, dropout, scaling, gqa):
    import torch.nn.functional as F

    outs = []
    for start, end in _segments(cu_seq_lens_q):
        outs.append(F.scaled_dot_product_attention(
            query[:, :, start:end], key[:, :, start:end], value[:, :, start:end], dropout_p=dropout, scale=scaling,
            is_causal=True, enable_gqa=gqa))
    return torch.cat(outs, dim=2).transpose(1, 2).contiguous()


def _mask(*args, attention_mask=None, **kwargs):
    # A padded batch gets sdpa's mask; a batch without padding (packed or not) gets none: causal attention is the
    # kernel's own flag, and a packed row's boundaries come from its offsets.
    from transformers.masking_utils import sdpa_mask

    if attention_mask is None:
        return None
    return sdpa_mask(*args, attention_mask=attention_mask, **kwargs)


@functools.cache
def register() -> str:
    """Make ``NAME`` a valid attn_implementation (idempotent); returns the name."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    AttentionInterface.register(NAME, varlen_attention)
    AttentionMaskInterface.register(NAME, _mask)
    return NAME
