"""scripts/merge_lora.py: a merged model computes what base + adapter computed; a wrong adapter is one line."""

import pytest
import torch

from arc25 import models
from arc25.models import loading
from arc25.models import lora
from arc25.commands import merge_lora


def _exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        merge_lora.cli(argv)
    return exit_info.value.code


@pytest.fixture(scope="module")
def base_and_adapter(tmp_path_factory):
    """A tiny base saved as a model folder, and a LoRA adapter on it whose B matrices are not zero."""
    from peft import LoraConfig, get_peft_model

    root = tmp_path_factory.mktemp("merge")
    tok = models.load_tokenizer("tiny")
    base = models.load_model("tiny", tok, seed=1)
    base.save_pretrained(str(root / "base"))
    tok.save_pretrained(str(root / "base"))
    # init_lora_weights=False draws B at random too, so the adapter changes the logits.
    adapted = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"],
                                              init_lora_weights=False))
    adapted.save_pretrained(str(root / "adapter"))
    ids = torch.tensor([[5, 17, 42, 7, 99, 3, 250]])
    with torch.no_grad():
        expected = adapted(ids).logits
    return root, ids, expected


def test_merged_model_matches_base_plus_adapter(base_and_adapter, capsys):
    root, ids, expected = base_and_adapter
    merge_lora.cli(["--model-path", str(root / "base"), "--adapter-path", str(root / "adapter"),
                    "--output-dir", str(root / "merged"), "--torch-dtype", "float32"])
    tok = models.load_tokenizer(str(root / "merged"))
    merged = models.load_model(str(root / "merged"), tok)
    with torch.no_grad():
        got = merged(ids).logits
    plain = models.load_model(str(root / "base"), tok)
    with torch.no_grad():
        base_logits = plain(ids).logits
    assert not torch.allclose(base_logits, expected, atol=1e-3), "the adapter should change the logits"
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
    assert not any("lora" in name for name, _ in merged.named_parameters())
    assert (root / "merged" / "tokenizer.json").is_file() and tok.chat_template


def test_adapter_for_another_base_is_one_line(base_and_adapter, capsys):
    root, _, _ = base_and_adapter
    capsys.readouterr()
    code = _exit_code(["--model-path", "small", "--adapter-path", str(root / "adapter"), "--output-dir", str(root / "wrong")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: ") and "\n" not in err
    assert "does not fit base model 'small'" in err and "has in_features=" in err
    assert not (root / "wrong").exists()


def test_out_folder_must_be_new(base_and_adapter, tmp_path, capsys):
    root, _, _ = base_and_adapter
    (tmp_path / "keep.txt").write_text("x")
    code = _exit_code(["--model-path", str(root / "base"), "--adapter-path", str(root / "adapter"),
                       "--output-dir", str(tmp_path)])
    assert code == 2 and "not an empty folder" in capsys.readouterr().err


def test_load_time_mismatch_becomes_one_line(base_and_adapter, tmp_path):
    """An adapter whose tensors the header check cannot see (a .bin file) still fails in one line."""
    from peft import LoraConfig, get_peft_model

    tok = models.load_tokenizer("tiny")
    other = get_peft_model(models.load_model("small", tok), LoraConfig(r=2, target_modules=["q_proj"]))
    other.save_pretrained(str(tmp_path), safe_serialization=False)
    with pytest.raises(ValueError) as err:
        lora.apply_adapter(models.load_model("tiny", tok), str(tmp_path))
    assert "does not fit" in str(err.value) and "size mismatch" in str(err.value) and "\n" not in str(err.value)


def test_adapter_knows_its_builtin_base_and_seed(tmp_path, capsys):
    """A builtin base is its init seed: the recorded one is used, and another base or seed is one line."""
    from peft import LoraConfig, get_peft_model

    tok = models.load_tokenizer("tiny")
    adapted = get_peft_model(models.load_model("tiny", tok, seed=5), LoraConfig(r=2, target_modules=["q_proj"]))
    adapted.save_pretrained(str(tmp_path / "adapter"))
    loading.write_training_info(tmp_path / "adapter", model_path="tiny", random_seed=5, prompt_style="compact",
                                grid_encoder="MinimalGridEncoder()")
    adapter = str(tmp_path / "adapter")
    assert loading.check_adapter("tiny", tok, adapter) == 5
    with pytest.raises(ValueError, match="built from seed 5, but seed 0 was given"):
        loading.check_adapter("tiny", tok, adapter, model_seed=0)
    with pytest.raises(ValueError, match="was trained on base 'tiny', not --model-path 'small'"):
        loading.check_adapter("small", tok, adapter)
    merge_lora.cli(["--model-path", "tiny", "--adapter-path", adapter, "--output-dir", str(tmp_path / "merged"),
                    "--torch-dtype", "float32"])
    merged = models.load_model(str(tmp_path / "merged"), tok)
    expected = adapted.merge_and_unload()
    ids = torch.tensor([[5, 17, 42]])
    with torch.no_grad():
        torch.testing.assert_close(merged(ids).logits, expected(ids).logits, atol=1e-4, rtol=1e-4)
    assert loading.read_training_info(tmp_path / "merged")["prompt_style"] == "compact"
