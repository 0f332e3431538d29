"""Turn tasks into chat messages for fine-tuning and inference, and pull code back out of replies."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass

from arc25 import dsl
from arc25.prompts.encoders import GridEncoder, get_encoder

__all__ = [
    "DEFAULT_PROMPT_STYLE",
    "PROMPT_STYLES",
    "PromptStyle",
    "check_prompt_style",
    "parse_code",
    "prompt_messages",
    "task_to_messages",
    "task_to_prompt_completion",
]


@dataclass(frozen=True)
class PromptStyle:
    """The fixed text around a task's examples: the system message and the user message's opening."""

    system: str
    instructions: str


def _describe_dsl() -> str:
    """One bullet per v1 DSL function: its signature and the first line of its docstring."""
    # v1 names only: the prompt models were trained and measured with must stay byte-identical as the DSL grows.
    bullets = []
    for name in dsl.V1_NAMES:
        func = getattr(dsl, name)
        doc = (inspect.getdoc(func) or "").split("\n")[0].replace("``", "`")
        bullets.append(f"- `{name}{inspect.signature(func)}`: {doc}")
    return "\n".join(bullets)


# compact: a model fine-tuned on our programs learns the DSL from them, so repeating its description in
# every prompt only costs tokens (~360 of a 750-token sample on the journal's speed benchmark).
# describe-dsl: for models that have never seen the DSL (a pretrained coder evaluated zero-shot).
PROMPT_STYLES: dict[str, PromptStyle] = {
    "compact": PromptStyle(
        system="You write Python programs that solve ARC puzzles.",
        instructions="Write `task(img)` with the drawing DSL, turning each input grid into its output grid.\n\n",
    ),
    "describe-dsl": PromptStyle(
        system=(
            "You solve ARC puzzles by writing Python. Given example input and output grids, "
            "reply with one Python function `task(img)` in a ```python block that turns every "
            "input into its output using the drawing DSL described by the user."
        ),
        instructions=(
            "Each example shows an input grid and the output grid that one hidden program made from it. "
            "Grids are written as text with one digit (a colour 0-9) per cell.\n"
            "Write a Python function `task(img)` that takes an input grid (a 2-D numpy array of ints) "
            "and returns its output grid. Draw on `img` with these functions, which need no import; "
            "points are (row, col) and anything drawn outside the grid is clipped:\n"
            f"{_describe_dsl()}\n\n"
        ),
    ),
}
DEFAULT_PROMPT_STYLE = "compact"


def check_prompt_style(name: str) -> PromptStyle:
    """The named style, or a one-line ValueError listing the styles."""
    try:
        return PROMPT_STYLES[name]
    except KeyError:
        raise ValueError(f"--prompt-style {name!r} is unknown; choose one of: {', '.join(PROMPT_STYLES)}") from None


_CODE_OPEN = "```python\n"
_CODE_CLOSE = "\n```"
_EXAMPLE_HEADERS = [f"## Example {i}\n### Input\n" for i in range(1, 65)]
_OUTPUT_HEADER = "\n### Output\n"


def _resolve(encoder: GridEncoder | str) -> GridEncoder:
    return get_encoder(encoder) if isinstance(encoder, str) else encoder


def _user_content(inputs, outputs, encoder: GridEncoder, style: PromptStyle) -> str:
    """The style's instructions followed by every encoded input/output pair."""
    if len(inputs) != len(outputs) or not inputs:
        raise ValueError(f"need matching, non-empty inputs and outputs, got {len(inputs)} and {len(outputs)}")
    to_text, output_text = encoder.to_text, encoder.output_text
    parts = [style.instructions]
    for i, (grid_in, grid_out) in enumerate(zip(inputs, outputs)):
        header = _EXAMPLE_HEADERS[i] if i < len(_EXAMPLE_HEADERS) else f"## Example {i + 1}\n### Input\n"
        if i:
            parts.append("\n\n")
        parts += (header, to_text(grid_in), _OUTPUT_HEADER, output_text(grid_in, grid_out))
    return "".join(parts)


def _code_block(code: str) -> str:
    # Blank lines around the code are noise for the model; indentation inside is kept.
    return _CODE_OPEN + code.lstrip("\n").rstrip() + _CODE_CLOSE


def prompt_messages(inputs, outputs, encoder: GridEncoder | str, prompt_style: str = DEFAULT_PROMPT_STYLE) -> list[dict]:
    """System and user messages for the given example pairs, with no assistant reply (for inference)."""
    style = check_prompt_style(prompt_style)
    content = _user_content(inputs, outputs, _resolve(encoder), style)
    return [{"role": "system", "content": style.system}, {"role": "user", "content": content}]


def task_to_prompt_completion(task, encoder: GridEncoder | str, prompt_style: str = DEFAULT_PROMPT_STYLE) -> dict:
    """The conversational prompt/completion pair that trl's SFTTrainer uses for completion-only loss."""
    return {
        "prompt": prompt_messages(task.inputs, task.outputs, encoder, prompt_style),
        "completion": [{"role": "assistant", "content": _code_block(task.code)}],
    }


def task_to_messages(task, encoder: GridEncoder | str, prompt_style: str = DEFAULT_PROMPT_STYLE) -> list[dict]:
    """The full conversation: system, user with the examples, and the assistant's code."""
    pair = task_to_prompt_completion(task, encoder, prompt_style)
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
