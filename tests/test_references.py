"""Reference solutions of real ARC tasks: the lint keeps them short and in the DSL, and every one solves its task."""

import json

import pytest

from arc25.arc.references import MAX_LINES, QUOTAS, Reference, lint, load_references, verify
from arc25.commands.references import cli

REFS = load_references()

GOOD = '''"""Every orange cell turns grey."""


def task(img):
    """Helpers and docstrings are fine."""
    out = img.copy()  # numpy operators and methods on values are the control layer
    out[img == 7] = 5
    return out
'''


def test_a_short_program_in_the_dsl_lints_clean():
    assert lint(GOOD) == []


@pytest.mark.parametrize("body, problem", [
    ("    return np.flipud(img)", "uses np"),
    ("    import numpy\n    return img", "an import"),
    ("    from arc25.dsl import rotate\n    return img", "an import"),
    ("    return open('x')", "builtin 'open'"),
    ("    return sorted({1, 2})", "a set"),
    ("    return fliplr(img)", "name 'fliplr'"),
])
def test_the_lint_catches_what_a_reference_may_not_do(body, problem):
    code = f'"""Doc."""\n\n\ndef task(img):\n{body}\n'
    assert any(problem in p for p in lint(code)), lint(code)


def test_the_lint_counts_code_lines_not_blanks_comments_or_docstrings():
    body = "".join(f"    x{i} = {i}\n\n    # a comment\n" for i in range(MAX_LINES - 2))
    at_limit = f'"""Doc."""\n\n\ndef task(img):\n    """Doc."""\n{body}    return img\n'
    assert lint(at_limit) == []
    over = at_limit.replace("    return img", "    x = 1\n    return img")
    assert lint(over) == [f"{MAX_LINES + 1} lines of code, more than {MAX_LINES}"]


def test_the_lint_wants_a_one_line_docstring_and_a_task():
    assert "no module docstring saying what the task does" in lint("def task(img):\n    return img\n")
    assert "the module docstring is not one line" in lint('"""One.\n\nTwo."""\ndef task(img):\n    return img\n')
    assert "no top-level def task(img)" in lint('"""Doc."""\ndef solve(img):\n    return img\n')


@pytest.mark.parametrize("ref", REFS, ids=[r.task_id for r in REFS])
def test_every_reference_lints_clean(ref):
    assert lint(ref.code) == []


def test_every_reference_solves_every_train_and_test_pair_of_its_task():
    failures = verify(REFS)
    assert not failures, "\n".join(map(str, failures))


def test_the_concept_quotas_are_met():
    counts = {concept: sum(r.family == concept for r in REFS) for concept in QUOTAS}
    assert all(counts[c] >= QUOTAS[c] for c in QUOTAS), f"references per concept {counts}, quotas {QUOTAS}"


def test_verify_names_the_task_and_the_check_of_a_broken_reference():
    wrong = Reference("c8f0f002", "pattern", '"""Wrong: leaves the grid as it is."""\n\n\ndef task(img):\n    return img\n')
    crashes = Reference("0d3d703e", "pattern", '"""Crashes."""\n\n\ndef task(img):\n    return img[99]\n')
    unknown = Reference("00000000", "paint", GOOD)
    failures = [str(f) for f in verify([wrong, crashes, unknown])]
    assert failures[0].startswith("00000000: task: ")
    assert failures[1].startswith("0d3d703e: runs: ")
    assert failures[2].startswith("c8f0f002: pairs: train pair 0: ") and "cells differ" in failures[2]
    assert len(failures) == 3 and all("\n" not in f for f in failures)


def test_load_references_refuses_a_misplaced_file(tmp_path):
    (tmp_path / "shapes").mkdir()
    (tmp_path / "shapes" / "c8f0f002.py").write_text(GOOD)
    with pytest.raises(ValueError, match="shapes/c8f0f002.py: a reference lives at <concept>/<task_id>.py"):
        load_references(tmp_path)


def test_jsonl_prints_every_reference_with_its_fields(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli(["--jsonl"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert exit_info.value.code == 0
    assert [(r["task_id"], r["family"], r["code"]) for r in rows] == [(r.task_id, r.family, r.code) for r in REFS]


def test_verify_fails_with_one_line_per_broken_reference(tmp_path, capsys):
    (tmp_path / "pattern").mkdir()
    (tmp_path / "pattern" / "c8f0f002.py").write_text(GOOD)
    (tmp_path / "pattern" / "0d3d703e.py").write_text('"""Leaves the grid as it is."""\n\n\ndef task(img):\n    return img\n')
    with pytest.raises(SystemExit) as exit_info:
        cli(["--verify", "--references-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert exit_info.value.code == 1
    assert err.splitlines() == ["0d3d703e: pairs: train pair 0: 9 of 9 cells differ (and 4 more of 5 pairs)"]
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()}
    assert rows["pattern"] == ["2", "1", "4"] and rows["paint"] == ["0", "0", "15"]
