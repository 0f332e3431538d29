"""Turn tasks into chat messages for fine-tuning and inference, and pull code back out of replies."""

from __future__ import annotations

import inspect
import re

from arc25 import dsl
from arc25.encoders import GridEncoder, get_encoder

__all__ = [
    "SYSTEM_PROMPT",
    "USER_INSTRUCTIONS",
    "parse_code",
    "prompt_messages",
    "task_to_messages",
    "task_to_prompt_completion",
]

SYSTEM_PROMPT = (
    "You solve ARC puzzles by writing Python. Given example input and output grids, "
    "reply with one Python function `task(img)` in a ```python block that turns every "
    "input into its output using the drawing DSL described by the user."
)


def _describe_dsl() -> str:
    """One bullet per public DSL function: its signature and the first line of its docstring."""
    bullets = []
    for name in dsl.__all__:
        func = getattr(dsl, name)
        doc = (inspect.getdoc(func) or "").split("\n")[0].replace("``", "`")
        bullets.append(f"- `{name}{inspect.signature(func)}`: {doc}")
    return "\n".join(bullets)


# Built once at import: the instructions never change, only the examples after them do.
USER_INSTRUCTIONS = (
    "Each example shows an input grid and the output grid that one hidden program made from it. "
    "Grids are written as text with one digit (a colour 0-9) per cell.\n"
    "Write a Python function `task(img)` that takes an input grid (a 2-D numpy array of ints) "
    "and returns its output grid. Draw on `img` with these functions, which need no import; "
    "points are (row, col) and anything drawn outside the grid is clipped:\n"
    f"{_describe_dsl()}\n\n"
)

_CODE_OPEN = "```python\n"
_CODE_CLOSE = "\n```"
_SYSTEM_MESSAGE = {"role": "system", "content": SYSTEM_PROMPT}
_EXAMPLE_HEADERS = [f"## Example {i}\n### Input\n" for i in range(1, 65)]
_OUTPUT_HEADER = "\n### Output\n"


def _resolve(encoder: GridEncoder | str) -> GridEncoder:
    return get_encoder(encoder) if isinstance(encoder, str) else encoder


def _user_content(inputs, outputs, encoder: GridEncoder) -> str:
    """The instructions followed by every encoded input/output pair."""
    if len(inputs) != len(outputs) or not inputs:
        raise ValueError(f"need matching, non-empty inputs and outputs, got {len(inputs)} and {len(outputs)}")
    to_text = encoder.to_text
    parts = [USER_INSTRUCTIONS]
    for i, (grid_in, grid_out) in enumerate(zip(inputs, outputs)):
        header = _EXAMPLE_HEADERS[i] if i < len(_EXAMPLE_HEADERS) else f"## Example {i + 1}\n### Input\n"
        if i:
            parts.append("\n\n")
        parts += (header, to_text(grid_in), _OUTPUT_HEADER, to_text(grid_out))
    return "".join(parts)


def _code_block(code: str) -> str:
    # Blank lines around the code are noise for the model; indentation inside is kept.
    return _CODE_OPEN + code.lstrip("\n").rstrip() + _CODE_CLOSE


def prompt_messages(inputs, outputs, encoder: GridEncoder | str) -> list[dict]:
    """System and user messages for the given example pairs, with no assistant reply (for inference)."""
    content = _user_content(inputs, outputs, _resolve(encoder))
    return [dict(_SYSTEM_MESSAGE), {"role": "user", "content": content}]


def task_to_prompt_completion(task, encoder: GridEncoder | str) -> dict:
    """The conversational prompt/completion pair that trl's SFTTrainer uses for completion-only loss."""
    return {
        "prompt": prompt_messages(task.inputs, task.outputs, encoder),
        "completion": [{"role": "assistant", "content": _code_block(task.code)}],
    }


def task_to_messages(task, encoder: GridEncoder | str) -> list[dict]:
    """The full conversation: system, user with the examples, and the assistant's code."""
    pair = task_to_prompt_completion(task, encoder)
    return pair["prompt"] + pair["completion"]


# A fence, an optional language tag on the same line, then everything up to the closing fence or the end.
_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_PYTHON_TAGS = frozenset({"", "python", "py", "python3"})
_BARE_DEF = re.compile(r"^def task\b", re.MULTILINE)


def parse_code(reply: str) -> str | None:
    """Return the code in the first Python (or untagged) fence, else a bare `def task`; None if neither."""
    for match in _FENCE.finditer(reply):
        if match.group(1).lower() in _PYTHON_TAGS:
            code = match.group(2).lstrip("\n").rstrip()
            if code:
                return code
    bare = _BARE_DEF.search(reply)
    if bare is not None:
        code = reply[bare.start() :].replace("```", "").rstrip()
        return code or None
    return None
