"""Building models and tokenizers: builtin random-init models, local Hugging Face folders.

Builtin models are built locally from a config (no download) and share a builtin tokenizer with one token per
digit, like Qwen's, so one grid cell is one token. Which model, tokenizer and adapter a command loads, and with
which dtype and seed, is decided by arc25.models.loading.
"""

from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).parent / "assets"
TOKENIZER_FILE = ASSETS / "tokenizer.json"

SPECIAL_TOKENS = {"eos": "<|im_end|>", "bos": "<|im_start|>", "pad": "<|pad|>", "endoftext": "<|endoftext|>"}
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# Qwen2-architecture shapes. `qwen2.5-0.5b-shape` copies Qwen2.5-0.5B exactly (vocabulary included, since
# the 151,936-row logits are the largest tensor in a step) so speed work needs no weights.
BUILTIN_MODELS: dict[str, dict] = {
    "tiny": dict(hidden_size=128, intermediate_size=512, num_hidden_layers=4, num_attention_heads=4,
                 num_key_value_heads=2, max_position_embeddings=16384),
    # Between the two: twice tiny's width, its depth (about 4x its parameters), for CPU runs that need more room.
    "mini": dict(hidden_size=256, intermediate_size=1024, num_hidden_layers=4, num_attention_heads=8,
                 num_key_value_heads=4, max_position_embeddings=16384),
    "small": dict(hidden_size=512, intermediate_size=2048, num_hidden_layers=8, num_attention_heads=8,
                  num_key_value_heads=4, max_position_embeddings=16384),
    "qwen2.5-0.5b-shape": dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                               num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768,
                               vocab_size=151936, rope_theta=1000000.0, rms_norm_eps=1e-6,
                               tie_word_embeddings=True),
}


def is_builtin(model_path: str) -> bool:
    return model_path in BUILTIN_MODELS


def check_model_path(model_path: str) -> None:
    """Raise a one-line ValueError unless ``model_path`` is a builtin name or a local model folder."""
    if is_builtin(model_path):
        return
    path = Path(model_path).expanduser()
    if not path.is_dir():
        raise ValueError(
            f"--model-path {model_path!r} is neither an existing folder nor a builtin model "
            f"({', '.join(BUILTIN_MODELS)})"
        )
    if not (path / "config.json").is_file():
        raise ValueError(f"--model-path {model_path!r} has no config.json: not a Hugging Face model folder")


def builtin_tokenizer():
    """The shared tokenizer of the builtin models (BPE with digits split one per token, ChatML template)."""
    from transformers import PreTrainedTokenizerFast

    # PreTrainedTokenizerFast keeps our pre-tokenizer as saved (AutoTokenizer would rebuild a qwen2 one).
    tok = PreTrainedTokenizerFast(
        tokenizer_file=str(TOKENIZER_FILE),
        eos_token=SPECIAL_TOKENS["eos"],
        bos_token=None,
        pad_token=SPECIAL_TOKENS["pad"],
        unk_token=None,
        additional_special_tokens=[SPECIAL_TOKENS["bos"], SPECIAL_TOKENS["endoftext"]],
    )
    tok.chat_template = CHATML_TEMPLATE
    tok.padding_side = "right"
    return tok


def check_tokenizer(tokenizer) -> None:
    """Raise ValueError unless every digit 0-9 is one token that no other token contains (one cell = one token)."""
    digit_ids = {}
    for digit in "0123456789":
        ids = tokenizer.encode(digit, add_special_tokens=False)
        if len(ids) != 1:
            raise ValueError(f"tokenizer splits digit {digit!r} into {len(ids)} tokens; grids need one token per digit")
        digit_ids[ids[0]] = digit
    special = set(tokenizer.all_special_ids)
    offenders = [
        token for token, idx in tokenizer.get_vocab().items()
        if idx not in digit_ids and idx not in special and any(ch in "0123456789" for ch in token)
    ]
    if offenders:
        raise ValueError(
            f"tokenizer has {len(offenders)} tokens that merge digits with other text (e.g. {offenders[0]!r}); "
            "grids need one token per digit"
        )
    # In context, too: a row of a grid must tokenise to exactly its digits.
    sample = "\n0123456789\n98 76\n"
    ids = tokenizer.encode(sample, add_special_tokens=False)
    if sum(1 for i in ids if i in digit_ids) != sum(ch in "0123456789" for ch in sample):
        raise ValueError("tokenizer merges digits with neighbouring characters in context; grids need one token per digit")


def ensure_pad_token(tokenizer) -> bool:
    """Give the tokenizer a pad token distinct from EOS; return True if a new token was added (resize embeddings)."""
    if tokenizer.pad_token is not None and tokenizer.pad_token_id != tokenizer.eos_token_id:
        return False
    vocab = tokenizer.get_vocab()
    # Qwen ships unused special tokens; padding with EOS would mask the EOS labels the model must learn.
    for candidate in ("<|fim_pad|>", "<|endoftext|>", "<pad>", "<|pad|>"):
        if candidate in vocab and vocab[candidate] != tokenizer.eos_token_id:
            tokenizer.pad_token = candidate
            return False
    tokenizer.add_special_tokens({"pad_token": "<|pad|>"})
    return True


def load_tokenizer(model_path: str):
    """Load and check the tokenizer for a builtin name or a local folder."""
    if is_builtin(model_path):
        return builtin_tokenizer()
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_path, local_files_only=True)
    if tok.chat_template is None:
        tok.chat_template = CHATML_TEMPLATE
    if tok.eos_token is None:
        raise ValueError(f"tokenizer in {model_path!r} has no EOS token; the model could never learn to stop")
    check_tokenizer(tok)
    ensure_pad_token(tok)
    tok.padding_side = "right"
    return tok


def builtin_params(name: str, tokenizer) -> dict:
    """A builtin model's Qwen2Config keyword arguments, with token ids taken from the builtin tokenizer (plain
    values, so another transformers version can build the same shape: scripts/journal_baseline.py)."""
    params = dict(BUILTIN_MODELS[name])
    params.setdefault("vocab_size", len(tokenizer))
    params.setdefault("tie_word_embeddings", True)
    return dict(params, bos_token_id=tokenizer.convert_tokens_to_ids(SPECIAL_TOKENS["bos"]),
                eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)


def builtin_config(name: str, tokenizer):
    """The Qwen2Config of a builtin model."""
    from transformers import Qwen2Config

    return Qwen2Config(**builtin_params(name, tokenizer))


def load_model(model_path: str, tokenizer, *, dtype: str = "float32", device_map=None, attn_implementation="sdpa", seed: int = 0):
    """Build a builtin model (random init from ``seed``) or load a local folder's weights."""
    import torch
    from transformers import AutoModelForCausalLM

    torch_dtype = getattr(torch, dtype)
    if is_builtin(model_path):
        config = builtin_config(model_path, tokenizer)
        config._attn_implementation = attn_implementation
        # Initialisation is the only randomness here; fork the RNG so the caller's global state is untouched.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = AutoModelForCausalLM.from_config(config, dtype=torch_dtype, attn_implementation=attn_implementation)
        return model
    model = AutoModelForCausalLM.from_pretrained(
        model_path, dtype=torch_dtype, device_map=device_map, attn_implementation=attn_implementation,
        local_files_only=True,
    )
    if len(tokenizer) > model.get_input_embeddings().num_embeddings:
        model.resize_token_embeddings(len(tokenizer))
    return model


def count_parameters(model) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, total
