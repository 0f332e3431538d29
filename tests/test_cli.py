"""One CLI convention: every console command parses with tyro, shows --help, and fails bad input in one line."""

import importlib
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import ROOT, run_script

from arc25.cli import parse

SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]


def entry(name: str):
    module, function = SCRIPTS[name].split(":")
    return getattr(importlib.import_module(module), function)


def test_every_script_is_a_thin_entry_point_of_a_console_command():
    """scripts/NAME.py runs arc25.commands.NAME, the code its console command runs, and holds nothing else."""
    launched = {f"arc25.commands.{p.stem}" for p in (ROOT / "scripts").glob("*.py")}
    assert launched | {"finetuning"} == {target.split(":")[0] for target in SCRIPTS.values()}
    for path in (ROOT / "scripts").glob("*.py"):
        code = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith('"""')]
        assert len(code) <= 3 and code[0].startswith(f"from arc25.commands.{path.stem} import"), path.name


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_help_and_bad_flags(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        entry(name)(["--help"])
    assert exit_info.value.code == 0 and "usage:" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        entry(name)(["--no-such-flag", "1"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.startswith("error: ") and "--no-such-flag" in err and err.count("\n") == 1


def test_same_things_have_the_same_names():
    """The flags several commands share are spelled one way everywhere (old spellings are gone)."""
    import finetuning
    from arc25.commands import evaluate, merge_lora

    for cls in (finetuning.Config, evaluate.Args, merge_lora.Args):
        names = set(cls.__dataclass_fields__)
        assert {"model_path", "output_dir"} <= names
        assert not names & {"out", "base", "adapter", "seed", "dtype", "encoder", "base_seed"}
    assert {"random_seed", "torch_dtype", "grid_encoder", "prompt_style", "max_seq_len", "adapter_path"} <= \
        set(evaluate.Args.__dataclass_fields__)


def test_no_import_path_patching():
    """Scripts and tests import the installed package; none edits the interpreter's module search path."""
    needle = "sys" + ".path"  # spelled apart so that this file does not match itself
    files = [*ROOT.glob("scripts/*.py"), *ROOT.glob("tests/*.py"), ROOT / "finetuning.py"]
    offenders = [str(p.relative_to(ROOT)) for p in files if needle in p.read_text()]
    assert not offenders


def test_literal_choices_are_checked_once_for_every_cli(tmp_path):
    from arc25.commands import merge_lora

    (tmp_path / "adapter_config.json").write_text("{}")
    paths = dict(model_path="tiny", adapter_path=str(tmp_path), output_dir="o")
    with pytest.raises(ValueError, match="--torch-dtype 'float8' is not one of float32, bfloat16, float16"):
        merge_lora.Args(**paths, torch_dtype="float8")
    argv = ["--model-path", "tiny", "--adapter-path", str(tmp_path), "--output-dir", "o"]
    assert parse(merge_lora.Args, argv).torch_dtype == "bfloat16"


@pytest.mark.slow
def test_installed_console_command_runs(python):
    """`make install` puts the commands beside the interpreter; they run the same code as the scripts."""
    command = Path(sys.executable).parent / "arc25-merge-lora"
    if not command.exists():
        pytest.skip("arc25 is not pip-installed into this interpreter's environment (make install does it)")
    assert "--adapter-path" in run_script([str(command), "--help"], timeout=60).stdout
    proc = run_script([str(command), "--model-path", "tiny"], timeout=60, check=False)
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
