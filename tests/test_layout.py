"""The folder list is the architecture: packages import downward only, and the data path never loads the sandbox."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "arc25"

# Lower layers first. A module may import its own package and packages of a lower layer; two packages of one
# layer never import each other (the task stream must not load the sandbox, nor the sandbox the task stream).
LAYERS = [
    {"dsl"},
    {"programs"},
    {"sandbox", "tasks"},
    {"prompts", "models", "arc"},
    {"cli"},
    {"infer"},
    {"train"},
    {"her"},
    {"commands"},
]
# Runs inside the research journal's own environment, where "arc25" is the journal's package, not ours.
JOURNAL_ENV = PACKAGE / "commands" / "journal_env"
RANK = {package: rank for rank, layer in enumerate(LAYERS) for package in layer}


def package_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "arc25" and len(parts) > 1 else None


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every arc25 import in ``path``, at any depth (imports inside functions count too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # "from P import name" may name a module of P or an attribute: check P.name's package either way.
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def test_every_package_has_a_layer_and_the_top_level_holds_no_modules():
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert packages == set(RANK)
    assert [p.name for p in PACKAGE.glob("*.py")] == ["__init__.py"]


def test_imports_point_down_the_layers():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = path.relative_to(PACKAGE).parts[0]
        if here not in RANK or JOURNAL_ENV in path.parents:
            continue
        for line, module in imports(path):
            # Commands may run the root training script (a sweep or the ladder launches it); nothing else may.
            if (module == "finetuning" and here != "commands") or module.split(".")[0] == "scripts":
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
                continue
            there = package_of(module)
            if there is None or there == here:
                continue
            if RANK[there] >= RANK[here]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} ({here}) imports {module} ({there})")
    assert not wrong, "\n".join(wrong)


def test_a_mutation_is_caught(tmp_path):
    """The check above sees an upward import written inside a function (so it cannot pass by reading nothing)."""
    path = tmp_path / "m.py"
    path.write_text("def f():\n    from arc25.train import data\n    import arc25.sandbox.pool\n")
    assert sorted(imports(path)) == [(2, "arc25.train.data"), (3, "arc25.sandbox.pool")]


@pytest.mark.parametrize("module, forbidden", [
    ("arc25.tasks", "arc25.sandbox"),
    ("arc25.train.data", "arc25.sandbox"),
    ("arc25.dsl", "arc25.tasks"),
    ("arc25.sandbox", "arc25.tasks"),
    # finetuning.py parses and checks its flags before anything heavy: the trainer loads only once a run is checked.
    ("finetuning", "trl"),
    ("finetuning", "arc25.train.trainer"),
])
def test_importing_a_layer_loads_nothing_of_another(module, forbidden):
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m == {forbidden!r} or m.startswith({forbidden!r} + '.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out


def test_every_trainer_override_says_what_the_library_does_and_the_versions_checked():
    """ArcTrainer is a module-level class; each method it overrides names the library's behaviour, ours, the versions."""
    import inspect

    from trl import SFTTrainer

    from arc25.train.trainer import ArcTrainer

    assert ArcTrainer.__qualname__ == "ArcTrainer" and ArcTrainer.__module__ == "arc25.train.trainer"
    overrides = [name for name, member in vars(ArcTrainer).items() if callable(member) and hasattr(SFTTrainer, name)]
    assert {"compute_loss", "log", "get_batch_samples", "save_model"} <= set(overrides)
    unexplained = [name for name in overrides
                   if not all(word in inspect.getsource(getattr(ArcTrainer, name)) for word in ("Library:", "Ours:", "trl 1."))]
    assert not unexplained, f"overrides without their note: {unexplained}"


def _guides() -> list[Path]:
    """README and the guides in docs/ (dated results are records of their day, left as written)."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_readme_is_a_short_guide_and_every_relative_link_resolves():
    import re

    assert len((ROOT / "README.md").read_text().splitlines()) <= 250
    broken = []
    for page in _guides():
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not broken, broken


def test_no_lab_notes_in_code_docs_or_tests():
    """No issue numbers or one machine's paths: say what a thing does."""
    import re

    pattern = re.compile(r"\bissue\s?#?\d|" + re.escape("/" + "work/") + r"|\.\./shared/", re.IGNORECASE)
    files = [*_guides(), ROOT / "finetuning.py", ROOT / "Makefile", *sorted(PACKAGE.rglob("*.py")),
             *sorted((ROOT / "tests").glob("*")), *sorted((ROOT / "configs").rglob("*.yaml")),
             *sorted((ROOT / "scripts").glob("*"))]
    found = [f"{path.relative_to(ROOT)}:{n}" for path in files if path.is_file()
             for n, line in enumerate(path.read_text(errors="ignore").splitlines(), 1) if pattern.search(line)]
    assert not found, found
