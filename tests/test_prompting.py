"""Task -> chat messages, and code extraction from model replies."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from arc25 import dsl
from arc25.prompts.encoders import DEFAULT_ENCODER_SPEC, get_encoder
from arc25.prompts.prompting import (
    DEFAULT_PROMPT_STYLE,
    PROMPT_STYLES,
    check_prompt_style,
    parse_code,
    prompt_messages,
    task_to_messages,
    task_to_prompt_completion,
)
from arc25.tasks import Task

CODE = "def task(img):\n    draw_pixel(img, (0, 0), color=1)\n    draw_line(img, (0, 0), (2, 2), color=3)\n    return img\n"


def make_task(n_pairs: int = 3, side: int = 4) -> Task:
    rng = np.random.default_rng(1)
    inputs = [rng.integers(0, 10, size=(side, side + i)) for i in range(n_pairs)]
    outputs = [rng.integers(0, 10, size=(side + i, side)) for i in range(n_pairs)]
    return Task(inputs=inputs, outputs=outputs, code=CODE, generator="hand")


def test_prompt_completion_structure():
    task = make_task()
    pair = task_to_prompt_completion(task, get_encoder(DEFAULT_ENCODER_SPEC))
    assert set(pair) == {"prompt", "completion"}
    assert [m["role"] for m in pair["prompt"]] == ["system", "user"]
    assert [m["role"] for m in pair["completion"]] == ["assistant"]
    for message in pair["prompt"] + pair["completion"]:
        assert set(message) == {"role", "content"}
        assert isinstance(message["content"], str) and message["content"]
    assert pair["prompt"][0]["content"] == PROMPT_STYLES[DEFAULT_PROMPT_STYLE].system


def test_user_message_holds_instructions_and_every_example():
    task = make_task()
    encoder = get_encoder(DEFAULT_ENCODER_SPEC)
    user = task_to_prompt_completion(task, encoder)["prompt"][1]["content"]
    assert user.startswith(PROMPT_STYLES[DEFAULT_PROMPT_STYLE].instructions)
    for i, (grid_in, grid_out) in enumerate(zip(task.inputs, task.outputs), start=1):
        block = f"## Example {i}\n### Input\n{encoder.to_text(grid_in)}\n### Output\n{encoder.to_text(grid_out)}"
        assert block in user
    assert "## Example 4" not in user
    # The code is the answer, so it must never leak into the prompt.
    assert "draw_pixel(img, (0, 0)" not in user


def test_describe_dsl_style_describes_every_dsl_function():
    instructions = PROMPT_STYLES["describe-dsl"].instructions
    user = prompt_messages(make_task().inputs, make_task().outputs, DEFAULT_ENCODER_SPEC, "describe-dsl")[1]["content"]
    assert user.startswith(instructions)
    for name in dsl.V1_NAMES:
        assert f"`{name}(" in instructions
        first_line = dsl.__dict__[name].__doc__.strip().split("\n")[0].replace("``", "`")
        assert first_line in instructions


def test_compact_is_the_default_and_short():
    from arc25.models import builtin_tokenizer

    assert DEFAULT_PROMPT_STYLE == "compact"
    tok = builtin_tokenizer()
    fixed = {}
    for name, style in PROMPT_STYLES.items():
        fixed[name] = len(tok(style.system + style.instructions, add_special_tokens=False)["input_ids"])
    # The budget: the task stated in ~80 tokens of instructions, far below the DSL description.
    assert fixed["compact"] <= 80
    assert fixed["describe-dsl"] > 3 * fixed["compact"]


def test_styles_differ_only_in_fixed_text():
    task = make_task()
    compact = task_to_prompt_completion(task, DEFAULT_ENCODER_SPEC, "compact")
    full = task_to_prompt_completion(task, DEFAULT_ENCODER_SPEC, "describe-dsl")
    assert compact["completion"] == full["completion"]
    strip = lambda pair, name: pair["prompt"][1]["content"][len(PROMPT_STYLES[name].instructions):]  # noqa: E731
    assert strip(compact, "compact") == strip(full, "describe-dsl")
    assert compact["prompt"][0] != full["prompt"][0]


def test_unknown_prompt_style_is_one_line_listing_the_styles():
    with pytest.raises(ValueError, match=r"--prompt-style 'verbose' is unknown; choose one of: compact, describe-dsl"):
        check_prompt_style("verbose")
    with pytest.raises(ValueError, match="--prompt-style"):
        prompt_messages(make_task().inputs, make_task().outputs, DEFAULT_ENCODER_SPEC, "verbose")


@pytest.mark.parametrize("style", sorted(PROMPT_STYLES))
def test_training_and_inference_build_identical_prompt_tokens(style):
    """The tokens a model trains on before its code are exactly the tokens it is prompted with at inference."""
    from arc25.prompts.chat import ChatFormatter
    from arc25.infer.generation import encode_prompts
    from arc25.tasks.tasksets import EvalTask
    from arc25.models import builtin_tokenizer
    from arc25.tasks import make_mixture, task_stream

    tok = builtin_tokenizer()
    formatter = ChatFormatter(tok, style)
    encoder = get_encoder(DEFAULT_ENCODER_SPEC)
    tasks = list(itertools.islice(task_stream(3, make_mixture("default", max_side=8)), 5))
    for task in tasks:
        example = formatter.example(task, encoder)
        n_prompt = example["labels"].index(next(t for t in example["labels"] if t != -100))
        eval_task = EvalTask(task_id="0", train_inputs=task.inputs, train_outputs=task.outputs)
        (inference,) = encode_prompts(tok, [eval_task], DEFAULT_ENCODER_SPEC, style)
        assert example["input_ids"][:n_prompt] == inference


def test_completion_is_fenced_code_that_parses_back():
    completion = task_to_prompt_completion(make_task(), DEFAULT_ENCODER_SPEC)["completion"][0]["content"]
    assert completion.startswith("```python\n")
    assert completion.endswith("\n```")
    assert CODE.rstrip() in completion
    assert parse_code(completion) == CODE.rstrip()


def test_messages_are_prompt_plus_completion():
    task = make_task()
    pair = task_to_prompt_completion(task, DEFAULT_ENCODER_SPEC)
    assert task_to_messages(task, DEFAULT_ENCODER_SPEC) == pair["prompt"] + pair["completion"]


def test_spec_string_and_encoder_object_agree():
    task = make_task()
    by_spec = task_to_prompt_completion(task, "RowNumberEncoder(MinimalGridEncoder())")
    by_object = task_to_prompt_completion(task, get_encoder("RowNumberEncoder(MinimalGridEncoder())"))
    assert by_spec == by_object
    assert by_spec != task_to_prompt_completion(task, DEFAULT_ENCODER_SPEC)


def test_prompt_only_form_has_no_assistant():
    task = make_task(n_pairs=2)
    messages = prompt_messages(task.inputs, task.outputs, DEFAULT_ENCODER_SPEC)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages == task_to_prompt_completion(task, DEFAULT_ENCODER_SPEC)["prompt"]
    # Works with plain lists of lists too, as real ARC tasks load from JSON.
    lists = prompt_messages([g.tolist() for g in task.inputs], [g.tolist() for g in task.outputs], DEFAULT_ENCODER_SPEC)
    assert lists == messages


def test_messages_are_fresh_objects():
    task = make_task()
    first = task_to_prompt_completion(task, DEFAULT_ENCODER_SPEC)
    first["prompt"][0]["content"] = "mutated"
    assert task_to_prompt_completion(task, DEFAULT_ENCODER_SPEC)["prompt"][0]["content"] == (
        PROMPT_STYLES[DEFAULT_PROMPT_STYLE].system)


def test_mismatched_or_empty_examples_raise():
    grid = np.zeros((2, 2), dtype=int)
    with pytest.raises(ValueError):
        prompt_messages([grid, grid], [grid], DEFAULT_ENCODER_SPEC)
    with pytest.raises(ValueError):
        prompt_messages([], [], DEFAULT_ENCODER_SPEC)


def test_many_examples_are_numbered():
    grid = np.zeros((1, 1), dtype=int)
    user = prompt_messages([grid] * 70, [grid] * 70, "MinimalGridEncoder()")[1]["content"]
    assert "## Example 70\n### Input\n0\n### Output\n0" in user


BODY = "def task(img):\n    draw_pixel(img, (0, 0), color=1)\n    return img"


@pytest.mark.parametrize(
    "reply",
    [
        f"```python\n{BODY}\n```",
        f"Here is the solution:\n\n```python\n{BODY}\n```\nIt draws a pixel.",
        f"```python\n{BODY}\n",  # the closing fence never came
        f"```python\n{BODY}",
        f"```\n{BODY}\n```",  # no language tag
        f"```py\n{BODY}\n```",
        f"```Python\n\n{BODY}\n\n```",
        BODY,  # a bare function
        f"Sure.\n{BODY}\n",
        f"```text\nnot code\n```\n```python\n{BODY}\n```",
        f"```python\n{BODY}\n```\n```python\ndef other(img):\n    return img\n```",
    ],
)
def test_parse_code_variants(reply):
    assert parse_code(reply) == BODY


@pytest.mark.parametrize("reply", ["", "I don't know.", "```python\n```", "```text\nhello\n```", "```\n\n\n"])
def test_parse_code_nothing_found(reply):
    assert parse_code(reply) is None


def test_parse_code_keeps_indentation_and_blank_lines_inside():
    body = "def task(img):\n    x = 1\n\n    if x:\n        draw_pixel(img, (0, 0), color=1)\n    return img"
    assert parse_code(f"```python\n{body}\n```") == body
