"""Models and tokenizers: the builtin random-init models, local Hugging Face folders, adapters.

Holds: ``builtin`` (builtin configs and tokenizer, loading a folder), ``loading`` (the one set of rules every
command loads by: lineage, LoRA or full, merges), ``lora`` (adapter shapes against a base), ``compat`` (what differs
between the transformers/trl/peft/torch versions we support). Imports nothing above ``arc25.tasks``.
"""

from arc25.models.builtin import (ASSETS, BUILTIN_MODELS, CHATML_TEMPLATE, SPECIAL_TOKENS, TOKENIZER_FILE, builtin_config,
                                  builtin_params, builtin_tokenizer, check_model_path, check_tokenizer,
                                  count_parameters, ensure_pad_token, is_builtin, load_model, load_tokenizer)

__all__ = ["ASSETS", "BUILTIN_MODELS", "CHATML_TEMPLATE", "SPECIAL_TOKENS", "TOKENIZER_FILE", "builtin_config", "builtin_params",
           "builtin_tokenizer", "check_model_path", "check_tokenizer", "count_parameters", "ensure_pad_token",
           "is_builtin", "load_model", "load_tokenizer"]
