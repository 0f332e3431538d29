"""Reference solutions: hand-written DSL programs for ARC-AGI-1 training tasks, their lint and their verification.

A reference is the file ``references/<concept>/<task_id>.py``: a one-line module docstring saying what the task does,
then ``def task(img):``. The lint keeps each one short and written in the DSL (so its length measures the DSL, not
free-form numpy); ``verify`` runs every reference through the sandbox on every train and test pair of its task.
"""

from __future__ import annotations

import ast
import builtins
import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from arc25 import dsl

__all__ = [
    "CONCEPTS",
    "DEFAULT_TIMEOUT_S",
    "MAX_LINES",
    "QUOTAS",
    "REFERENCES_DIR",
    "Failure",
    "Reference",
    "lint",
    "load_references",
    "verify",
]

REFERENCES_DIR = Path(__file__).resolve().parent / "references"
# The concepts (one folder each) and the fewest references each must hold.
QUOTAS = {"paint": 15, "recolor": 10, "crop": 8, "summary": 8, "geometry": 5, "pattern": 4}
CONCEPTS = tuple(QUOTAS)
MAX_LINES = 20
TASK_SET = "arc-agi-1-training"
# Seconds one reference may take on all the pairs of its task together (the sandbox bounds the whole run).
DEFAULT_TIMEOUT_S = 10.0

_TASK_ID = re.compile(r"[0-9a-f]{8}")
# Python builtins a reference may call or name: pure, and none iterates in an arbitrary order (no set, frozenset).
ALLOWED_BUILTINS = frozenset(
    """
    abs all any bool dict divmod enumerate filter float int isinstance len list map max min next range
    reversed round sorted sum tuple zip
    """.split()
)
# Refused by name even where a program binds them: a reference says what it does with DSL names, not numpy's.
_NUMPY_NAMES = frozenset({"np", "numpy"})


@dataclass(frozen=True)
class Reference:
    """One reference solution: the ARC task it solves, its concept (folder) and its program text."""

    task_id: str
    family: str
    code: str


@dataclass(frozen=True)
class Failure:
    """A reference that breaks a check, said in one line."""

    task_id: str
    check: str
    detail: str

    def __str__(self) -> str:
        return f"{self.task_id}: {self.check}: {self.detail}"


def load_references(root: Path | str = REFERENCES_DIR) -> list[Reference]:
    """Every ``<concept>/<task_id>.py`` under ``root``, sorted by task id; a misplaced file is a one-line ValueError."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"references folder {root} does not exist")
    found: dict[str, Reference] = {}
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if len(relative.parts) != 2 or relative.parts[0] not in CONCEPTS:
            raise ValueError(f"{relative}: a reference lives at <concept>/<task_id>.py, concept one of {', '.join(CONCEPTS)}")
        if not _TASK_ID.fullmatch(path.stem):
            raise ValueError(f"{relative}: file name {path.stem!r} is not an ARC task id (8 hex digits)")
        if path.stem in found:
            raise ValueError(f"{relative}: task {path.stem} already has a reference in {found[path.stem].family}/")
        found[path.stem] = Reference(task_id=path.stem, family=relative.parts[0], code=path.read_text())
    return [found[task_id] for task_id in sorted(found)]


def _docstring_lines(tree: ast.Module) -> set[int]:
    """Line numbers taken by the docstrings of the module and of every function and class."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                lines.update(range(first.lineno, first.end_lineno + 1))
    return lines


def code_lines(code: str, tree: ast.Module) -> int:
    """Lines holding code: not blank, not only a comment, not part of a docstring (helpers count like ``task``)."""
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING,
            tokenize.ENDMARKER}
    lines: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        if token.type not in skip:
            lines.update(range(token.start[0], token.end[0] + 1))
    return len(lines - _docstring_lines(tree))


def _defined_names(tree: ast.Module) -> set[str]:
    """Every name the program binds anywhere: functions, classes, arguments, assignment and loop targets."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def lint(code: str) -> list[str]:
    """Problems that keep ``code`` from being a reference (empty when it is one), each in one line.

    A reference: a one-line module docstring, a top-level ``def task(img)``, at most MAX_LINES lines of code, no
    imports, no numpy by name, no sets (their order is arbitrary), and every name it uses a DSL name, an allowed
    builtin or one it defines itself. numpy operators and methods on values (``==``, ``&``, slicing, ``.sum()``)
    are fine: they are Python's control layer, not a second DSL.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError as err:
        return [f"not valid Python: {err.msg} (line {err.lineno})"]
    problems = []
    doc = ast.get_docstring(tree, clean=False)
    if doc is None or not doc.strip():
        problems.append("no module docstring saying what the task does")
    elif "\n" in doc.strip():
        problems.append("the module docstring is not one line")
    tasks = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "task"]
    if not tasks:
        problems.append("no top-level def task(img)")
    elif len(tasks[0].args.args) != 1 or tasks[0].args.vararg or tasks[0].args.kwarg or tasks[0].args.kwonlyargs:
        problems.append("task must take exactly one argument, the input grid")
    lines = code_lines(code, tree)
    if lines > MAX_LINES:
        problems.append(f"{lines} lines of code, more than {MAX_LINES}")
    known = set(dsl.__all__) | ALLOWED_BUILTINS | _defined_names(tree)
    reported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            problems.append(f"an import (line {node.lineno}): DSL names need none, and nothing else may be imported")
        elif isinstance(node, (ast.Set, ast.SetComp)):
            problems.append(f"a set (line {node.lineno}): its order is arbitrary; use a list, tuple or dict")
        elif isinstance(node, ast.Name) and (node.id in _NUMPY_NAMES or isinstance(node.ctx, ast.Load) and node.id not in known):
            if node.id in reported:
                continue
            reported.add(node.id)
            if node.id in _NUMPY_NAMES:
                problems.append(f"uses {node.id} (line {node.lineno}): write it with DSL names and numpy operators")
            elif hasattr(builtins, node.id):
                problems.append(f"builtin {node.id!r} (line {node.lineno}) is not allowed; allowed: {', '.join(sorted(ALLOWED_BUILTINS))}")
            else:
                problems.append(f"name {node.id!r} (line {node.lineno}) is neither a DSL name, an allowed builtin nor defined here")
    return problems


def _compare(expected: np.ndarray, got: np.ndarray) -> str | None:
    if got.shape != expected.shape:
        return f"expected a {expected.shape[0]}x{expected.shape[1]} grid, got {got.shape[0]}x{got.shape[1]}"
    wrong = int((got != expected).sum())
    return f"{wrong} of {expected.size} cells differ" if wrong else None


def verify(refs: list[Reference], *, timeout_s: float = DEFAULT_TIMEOUT_S, sandbox=None) -> list[Failure]:
    """Lint every reference and run it through the sandbox on every train and test pair of its task.

    One Failure per broken check, in task-id order: ``lint`` (one per problem), ``task`` (no such training task),
    ``runs`` (the program failed) or ``pairs`` (the first pair it gets wrong, and how many it gets wrong).
    """
    from arc25.sandbox import describe, execute_batch
    from arc25.tasks.tasksets import load_task_set

    failures = [Failure(ref.task_id, "lint", problem) for ref in refs for problem in lint(ref.code)]
    tasks = {task.task_id: task for task in load_task_set(TASK_SET)}
    runnable = []
    for ref in refs:
        if ref.task_id in tasks:
            runnable.append(ref)
        else:
            failures.append(Failure(ref.task_id, "task", f"no {TASK_SET} task has this id"))
    pairs = {
        ref.task_id: [(f"train pair {i}", x, y) for i, (x, y) in enumerate(zip(tasks[ref.task_id].train_inputs, tasks[ref.task_id].train_outputs))]
        + [(f"test pair {i}", x, y) for i, (x, y) in enumerate(zip(tasks[ref.task_id].test_inputs, tasks[ref.task_id].test_outputs))]
        for ref in runnable
    }
    results = execute_batch(
        [ref.code for ref in runnable], [[x for _, x, _ in pairs[ref.task_id]] for ref in runnable],
        timeout_s=timeout_s, sandbox=sandbox,
    )
    for ref, result in zip(runnable, results):
        if not isinstance(result, list):
            failures.append(Failure(ref.task_id, "runs", describe(result)))
            continue
        wrong = [(name, problem) for (name, _, expected), got in zip(pairs[ref.task_id], result)
                 if (problem := _compare(expected, got)) is not None]
        if wrong:
            more = f" (and {len(wrong) - 1} more of {len(result)} pairs)" if len(wrong) > 1 else ""
            failures.append(Failure(ref.task_id, "pairs", f"{wrong[0][0]}: {wrong[0][1]}{more}"))
    return sorted(failures, key=lambda f: f.task_id)
