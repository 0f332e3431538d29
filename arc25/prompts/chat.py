"""Prompt and completion text through a tokenizer's chat template, and fast tokenising of that text.

``ChatFormatter`` renders the template once and fills it in by slicing (training and inference build the same
prompt tokens through it); ``ChunkedEncoder`` tokenises grid rows by table lookup and caches repeated chunks.
"""

from __future__ import annotations

import random
import re

import numpy as np

from arc25.prompts.prompting import DEFAULT_PROMPT_STYLE, check_prompt_style, task_to_prompt_completion
from arc25.tasks import Task

# Text splits into chunks at newlines followed by non-space: no pre-token of a Qwen2/GPT-style byte-level
# tokenizer spans such a boundary, so chunks tokenise independently. Runs of digit rows form their own chunk.
_CHUNKS = re.compile(r"(?P<grid>(?:[0-9][0-9 ]*\n)+(?=\S|\Z))|.*?\n+(?=\S|\Z)|.+\Z", re.DOTALL)
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
    def for_tokenizer(cls, tokenizer) -> ChunkedEncoder | None:
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


_USER_MARK = "\x00ARC25_USER\x00"
_CODE_MARK = "\x00ARC25_CODE\x00"


class ChatFormatter:
    """Render prompt/completion text with the tokenizer's chat template, once, then fill in by string slicing.

    Jinja rendering per sample costs more than the rest of the data path; templates that copy message
    content verbatim (ChatML, Qwen) render identically this way, and the constructor checks that they do.
    """

    def __init__(self, tokenizer, prompt_style: str = DEFAULT_PROMPT_STYLE):
        self.tokenizer = tokenizer
        self.prompt_style = prompt_style
        self._system = check_prompt_style(prompt_style).system
        self._chunked = None
        prompt = self._render([_USER_MARK], generation_prompt=True)
        full = self._render([_USER_MARK, _CODE_MARK], generation_prompt=False)
        if not full.startswith(prompt) or prompt.count(_USER_MARK) != 1 or full.count(_CODE_MARK) != 1:
            raise ValueError("the tokenizer's chat template does not render the prompt as a prefix of the conversation")
        self.prompt_head, self.prompt_tail = prompt.split(_USER_MARK)
        self.completion_head, self.completion_tail = full[len(prompt) :].split(_CODE_MARK)

    def _render(self, contents: list[str], generation_prompt: bool) -> str:
        messages = [{"role": "system", "content": self._system}, {"role": "user", "content": contents[0]}]
        if len(contents) > 1:
            messages.append({"role": "assistant", "content": contents[1]})
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)

    def prompt(self, user: str) -> str:
        """The prompt text around a user message: what training puts before the code and inference sends."""
        return self.prompt_head + user + self.prompt_tail

    def texts(self, pair: dict) -> tuple[str, str]:
        """(prompt text, completion text) for a prompt/completion pair from arc25.prompts.prompting."""
        code = pair["completion"][0]["content"]
        return self.prompt(pair["prompt"][1]["content"]), self.completion_head + code + self.completion_tail

    def encode(self, text: str) -> list[int]:
        if self._chunked is None:
            self._chunked = ChunkedEncoder.for_tokenizer(self.tokenizer) or False
        if self._chunked:
            return self._chunked.encode(text)
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def example(self, task: Task, encoder) -> dict:
        """Token ids with labels masked to -100 over the prompt."""
        prompt, completion = self.texts(task_to_prompt_completion(task, encoder, self.prompt_style))
        prompt_ids = self.encode(prompt)
        completion_ids = self.encode(completion)
        return {
            "input_ids": prompt_ids + completion_ids,
            "labels": [-100] * len(prompt_ids) + completion_ids,
            "code": task.code,
            "generator": task.generator,
            "n_draws": task.n_draws,
        }
