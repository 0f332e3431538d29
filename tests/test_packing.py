"""Mixed sizes without padding waste: padding-free packing is exact, and length grouping cuts padding."""

import itertools
import inspect
import json
import math

import pytest
import torch
import torch.nn.functional as F
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

import finetuning
from arc25 import models
from arc25.train import data
from arc25.tasks import make_mixture

ENCODER = finetuning.Config.grid_encoder
TINY_RUN = {"max_side": 5, "max_seq_len": 1024, "max_steps": 3, "batch_size": 2, "per_device_train_batch_size": 2,
            "log_to_wandb": False, "eval_steps": 0, "dataloader_num_workers": 0, "save_steps": 100}


def _rows(n: int, max_side: int = 5) -> list[dict]:
    """The first n examples of one stream whose lengths all differ (so packing has boundaries to get wrong)."""
    tok = models.load_tokenizer("tiny")
    spec = data.StreamSpec(make_mixture("default", max_side=max_side), ENCODER, 1024)
    rows, lengths = [], set()
    for ex in data.examples(tok, spec, seed=11):
        if len(ex["input_ids"]) not in lengths:
            rows.append(ex)
            lengths.add(len(ex["input_ids"]))
        if len(rows) == n:
            return rows
    raise AssertionError("unreachable: the stream is endless")


def _summed_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Sum of next-token cross-entropies over label-bearing positions."""
    return F.cross_entropy(logits[:, :-1].flatten(0, 1), labels[:, 1:].flatten(), ignore_index=-100, reduction="sum")


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_packed_batch_equals_samples_alone(attn):
    tok = models.load_tokenizer("tiny")
    model = models.load_model("tiny", tok, dtype="float32", attn_implementation=attn, seed=3).eval()
    rows = _rows(3)
    assert all(r["labels"][0] == -100 and r["labels"][-1] != -100 for r in rows), "completion-only labels expected"
    pack = data.BatchCollator(DataCollatorForLanguageModeling(pad_token_id=tok.pad_token_id, padding_free=True))
    pad = data.BatchCollator(DataCollatorForLanguageModeling(pad_token_id=tok.pad_token_id))
    packed, padded = pack(rows), pad(rows)
    assert packed["input_ids"].shape == (1, sum(len(r["input_ids"]) for r in rows)) and "attention_mask" not in packed
    # Our layout is trl's padding-free one, built without reading tensors back.
    trl_layout = DataCollatorForLanguageModeling(pad_token_id=tok.pad_token_id, padding_free=True)(rows)
    assert trl_layout.keys() == packed.keys() - {data.BatchStats.KEY}
    for name, value in trl_layout.items():
        assert (torch.equal(value, packed[name]) if isinstance(value, torch.Tensor) else value == packed[name]), name
    key = data.BatchStats.KEY
    assert packed[key].padded_tokens == packed[key].real_tokens
    assert padded[key].padded_tokens > padded[key].real_tokens

    with torch.no_grad():
        # As trl's compute_loss calls it: use_cache=False is what lets transformers see the packing.
        packed_logits = model(**{k: v for k, v in packed.items() if k != key}, use_cache=False).logits
        padded_logits = model(input_ids=padded["input_ids"], attention_mask=padded["attention_mask"],
                              use_cache=False).logits
        alone = []
        for row in rows:
            ids, labels = torch.tensor([row["input_ids"]]), torch.tensor([row["labels"]])
            logits = model(input_ids=ids, use_cache=False).logits
            alone.append((logits, _summed_loss(logits, labels)))

    start = 0
    for i, (row, (logits, _)) in enumerate(zip(rows, alone)):
        n = len(row["input_ids"])
        torch.testing.assert_close(packed_logits[:, start : start + n], logits, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(padded_logits[i : i + 1, :n], logits, rtol=1e-4, atol=1e-4)
        start += n
    expected = sum(loss for _, loss in alone)
    assert int((packed["labels"] != -100).sum()) == sum(sum(x != -100 for x in r["labels"]) for r in rows)
    torch.testing.assert_close(_summed_loss(packed_logits, packed["labels"]), expected, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(_summed_loss(padded_logits, padded["labels"]), expected, rtol=1e-5, atol=1e-4)


@pytest.mark.slow
def test_packed_training_run_matches_padded_run(tiny_run):
    """The session's shared tiny trainings (tests/conftest.py), packed and padded: the same seed and samples."""
    packed, padded = tiny_run(packing=True), tiny_run(packing=False)
    assert packed.metrics["global_step"] == packed.cfg.max_steps and math.isfinite(packed.metrics["train_loss"])
    summary = json.loads((packed.out / "throughput.json").read_text())
    assert summary["padding_fraction"] == 0 and summary["real_tokens_per_s"] > 0
    # Same seed, same samples: if packed samples attended to each other the losses would part ways.
    assert json.loads((padded.out / "throughput.json").read_text())["padding_fraction"] > 0
    assert packed.metrics["train_loss"] == pytest.approx(padded.metrics["train_loss"], rel=1e-3)


def _padding_fraction(lengths: list[int], batch_size: int) -> float:
    batches = [lengths[i : i + batch_size] for i in range(0, len(lengths), batch_size)]
    return 1 - sum(lengths) / sum(max(b) * len(b) for b in batches)


def test_group_by_length_cuts_padding_and_keeps_every_sample():
    tok = models.load_tokenizer("tiny")
    spec = data.StreamSpec(make_mixture("default"), ENCODER, 8192)
    stream = list(itertools.islice(data.examples(tok, spec, seed=5), 200))
    for i, ex in enumerate(stream):
        ex["idx"] = i
    grouped = list(data.group_by_length(iter(stream), window=64, batch_size=4, seed=1))
    assert sorted(ex["idx"] for ex in grouped) == list(range(len(stream))), "samples dropped or repeated"
    before = _padding_fraction([len(ex["input_ids"]) for ex in stream], 4)
    after = _padding_fraction([len(ex["input_ids"]) for ex in grouped], 4)
    assert after < before / 2, (before, after)
    again = list(data.group_by_length(iter(stream), window=64, batch_size=4, seed=1))
    other = list(data.group_by_length(iter(stream), window=64, batch_size=4, seed=2))
    assert [ex["idx"] for ex in again] == [ex["idx"] for ex in grouped]
    assert [ex["idx"] for ex in other] != [ex["idx"] for ex in grouped]


def test_train_dataset_groups_within_its_window():
    tok = models.load_tokenizer("tiny")
    spec = data.StreamSpec(make_mixture("default", max_side=8), ENCODER, 2048)
    plain = data.train_dataset(tok, spec, base_seed=3, world_size=1, num_workers=0, resume_step=0)
    grouped = data.train_dataset(tok, spec, base_seed=3, world_size=1, num_workers=0, resume_step=0,
                                 group_by_length_window=8, batch_size=4)
    first = [ex["code"] for ex in itertools.islice(plain, 16)]
    regrouped = list(itertools.islice(grouped, 16))
    # Window by window, the same samples in a new order; each batch of 4 is a run of the sorted window.
    for w in range(2):
        assert sorted(ex["code"] for ex in regrouped[8 * w : 8 * w + 8]) == sorted(first[8 * w : 8 * w + 8])
    lengths = [len(ex["input_ids"]) for ex in regrouped]
    for w in range(2):
        window = lengths[8 * w : 8 * w + 8]
        a, b = window[:4], window[4:]
        assert max(a) <= min(b) or max(b) <= min(a), window


def _grads(model) -> dict:
    return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


def test_budget_row_loss_and_gradients_equal_the_samples_alone():
    from arc25.train import attention

    tok = models.load_tokenizer("tiny")
    model = models.load_model("tiny", tok, dtype="float32", attn_implementation=attention.register(), seed=3)
    rows = _rows(4)
    budget = sum(len(r["input_ids"]) for r in rows[:3])
    packs = list(data.pack_to_budget(iter(rows), budget))
    assert [len(p["samples"]) for p in packs] == [3, 1], "the fourth sample would overflow the first row"
    collate = data.BatchCollator(DataCollatorForLanguageModeling(pad_token_id=tok.pad_token_id, padding_free=True))
    batch = collate(packs[:1])
    stats = batch.pop(data.BatchStats.KEY)
    assert batch["input_ids"].shape == (1, budget) and stats.padded_tokens == stats.real_tokens == budget
    assert stats.n_samples == 3 and "attention_mask" not in batch

    model.zero_grad()
    n_labels = int((batch["labels"][:, 1:] != -100).sum())
    (_summed_loss(model(**batch, use_cache=False).logits, batch["labels"]) / n_labels).backward()
    packed_grads = _grads(model)
    model.zero_grad()
    for row in rows[:3]:
        logits = model(input_ids=torch.tensor([row["input_ids"]]), use_cache=False).logits
        (_summed_loss(logits, torch.tensor([row["labels"]])) / n_labels).backward()
    alone_grads = _grads(model)
    assert packed_grads.keys() == alone_grads.keys() and packed_grads
    for name, grad in packed_grads.items():
        torch.testing.assert_close(grad, alone_grads[name], rtol=1e-4, atol=1e-6, msg=name)


def _reference_varlen(params: set):
    """A stand-in for torch's CUDA varlen kernel, written from its documented contract ((T, H, D) tensors, int32
    offsets, int maxima, causal as window (-1, 0) or is_causal) in plain math, so the CUDA branch's plumbing
    (layout, GQA, scale, offsets) runs on CPU against an independent result."""
    calls = []

    def varlen_attn(q, k, v, cu_q, cu_k, max_q, max_k, **keywords):
        assert set(keywords) <= params, f"keywords this torch's kernel lacks: {set(keywords) - params}"
        scale, enable_gqa = keywords.get("scale"), keywords.get("enable_gqa", False)
        window_size, is_causal = keywords.get("window_size", (-1, -1)), keywords.get("is_causal", False)
        assert q.dim() == 3 and q.stride(-1) == 1 and k.shape[0] == q.shape[0] == cu_q[-1]
        assert cu_q.dtype == torch.int32 and cu_q is cu_k and type(max_q) is int and max_q == max_k
        assert max_q == int((cu_q[1:] - cu_q[:-1]).max())
        assert tuple(window_size) == (-1, 0) or is_causal, "the kernel must be asked for causal attention"
        assert enable_gqa or k.shape[1] == q.shape[1], "heads differ, and the kernel was not told"
        calls.append({"scale": scale, "enable_gqa": enable_gqa})
        out = torch.empty_like(q)
        bounds = cu_q.tolist()
        for start, end in zip(bounds[:-1], bounds[1:]):
            qs, ks, vs = (t[start:end].transpose(0, 1) for t in (q, k, v))  # (H, L, D)
            if ks.shape[0] != qs.shape[0]:
                ks = ks.repeat_interleave(qs.shape[0] // ks.shape[0], dim=0)
                vs = vs.repeat_interleave(qs.shape[0] // vs.shape[0], dim=0)
            scores = qs @ ks.transpose(1, 2) * (scale if scale is not None else q.shape[-1] ** -0.5)
            length = end - start
            causal = torch.ones(length, length, dtype=torch.bool).tril()
            weights = scores.masked_fill(~causal, float("-inf")).softmax(-1)
            out[start:end] = (weights @ vs).transpose(0, 1)
        return out

    positional = [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                  for name in ("query", "key", "value", "cu_seq_q", "cu_seq_k", "max_q", "max_k")]
    varlen_attn.__signature__ = inspect.Signature(
        positional + [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None) for name in sorted(params)])
    return varlen_attn, calls


@pytest.mark.parametrize("torch_version, params", [
    ("2.11+", {"scale", "window_size"}),
    ("2.13+", {"scale", "window_size", "enable_gqa"}),
    ("2.10", {"scale", "is_causal"}),
])
@pytest.mark.parametrize("kv_heads", [4, 2])
def test_cuda_varlen_branch_computes_each_sample_alone(monkeypatch, torch_version, params, kv_heads):
    """The CUDA branch (never run on CI) hands torch's kernel the right layout, offsets, causal flag, GQA and scale:
    with a reference kernel in its place, a packed row's attention equals each sample's causal attention alone."""
    from arc25.train import attention

    import torch.nn.attention.varlen

    kernel, calls = _reference_varlen(params)
    monkeypatch.setattr(torch.nn.attention.varlen, "varlen_attn", kernel)
    found = attention._cuda_varlen.__wrapped__()  # how this torch's kernel is asked for causal attention
    assert found is not None and found[0] is kernel
    monkeypatch.setattr(attention, "_kernel", lambda query, dropout, scaling: found)
    generator = torch.Generator().manual_seed(0)
    lengths = [5, 9, 3]
    heads, total, dim = 4, sum(lengths), 8
    # transformers hands (1, H, T, D) views of (1, T, H, D) projections: the kernel's layout is one transpose away.
    query = torch.randn(1, total, heads, dim, generator=generator).transpose(1, 2)
    key, value = (torch.randn(1, total, kv_heads, dim, generator=generator).transpose(1, 2) for _ in range(2))
    cu = torch.tensor([0, 5, 14, 17], dtype=torch.int64)
    for scaling in (None, 0.3):
        out, _ = attention.varlen_attention(None, query, key, value, None, scaling=scaling, cu_seq_lens_q=cu,
                                            max_length_q=max(lengths))
        assert out.shape == (1, total, heads, dim)
        for start, end in zip(cu.tolist()[:-1], cu.tolist()[1:]):
            alone = torch.nn.functional.scaled_dot_product_attention(
                query[:, :, start:end], key[:, :, start:end], value[:, :, start:end], is_causal=True, scale=scaling,
                enable_gqa=kv_heads != heads).transpose(1, 2)
            torch.testing.assert_close(out[:, start:end], alone, msg=f"{torch_version}: sample at {start}")
    assert [c["scale"] for c in calls] == [None, 0.3]
    assert all(c["enable_gqa"] == (kv_heads != heads and "enable_gqa" in params) for c in calls)


def test_cuda_varlen_kernel_is_never_chosen_off_cuda_or_in_fp32():
    from arc25.train import attention

    for dtype in (torch.float32, torch.bfloat16):
        assert attention._kernel(torch.zeros(1, 2, 3, 4, dtype=dtype), 0.0, None) is None


def test_pack_to_budget_keeps_every_sample_in_order():
    rows = _rows(12)
    budget = max(len(r["input_ids"]) for r in rows) + 50
    packs = list(data.pack_to_budget(iter(rows), budget))
    assert [ex["code"] for p in packs for ex in p["samples"]] == [r["code"] for r in rows]
    sizes = [sum(len(ex["input_ids"]) for ex in p["samples"]) for p in packs]
    assert max(sizes) <= budget
    # Greedy: a row closed only because its next sample would not fit.
    for size, nxt in zip(sizes, packs[1:]):
        assert size + len(nxt["samples"][0]["input_ids"]) > budget
    with pytest.raises(ValueError, match="--token-budget 10"):
        list(data.pack_to_budget(iter(rows), 10))


@pytest.mark.parametrize("flags, message", [
    (["--token-budget", "0"], "--token-budget must be >= 1, got 0"),
    (["--token-budget", "512", "--max-seq-len", "1024"], "--token-budget 512 is below --max-seq-len 1024"),
    (["--token-budget", "4096", "--max-seq-len", "1024", "--per-device-train-batch-size", "2"],
     "leave --per-device-train-batch-size at 1, got 2"),
    (["--token-budget", "4096", "--max-seq-len", "1024", "--attn-implementation", "eager"], "eager would build"),
])
def test_bad_token_budget_is_one_line_error(flags, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        finetuning.Config.from_cli(["--output-dir", "unused", *flags])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err, err


@pytest.mark.slow
def test_budget_training_run_packs_rows_without_padding(tmp_path):
    run = dict(TINY_RUN, per_device_train_batch_size=1, batch_size=4)
    metrics = finetuning.main(finetuning.Config(output_dir=str(tmp_path), token_budget=2048, **run))
    assert metrics["global_step"] == 3 and math.isfinite(metrics["train_loss"])
    cfg = json.loads((tmp_path / "cfg.json").read_text())
    # ~5.6 samples fit a 2048-token row, so one row per step makes the 4 samples --batch-size asks for, on average.
    assert cfg["gradient_accumulation_steps"] == 1
    totals = json.loads((tmp_path / "throughput.json").read_text())["totals"]
    assert totals["padded_tokens"] == totals["real_tokens"] and totals["real_tokens"] <= 2048 * totals["steps"]
    assert totals["samples"] > 2 * totals["steps"], "rows should hold several whole samples"


def test_step_probe_sees_no_dense_mask_and_no_padding_in_a_budget_row():
    from arc25.train import attention
    from arc25.train.step_probe import StepProbe

    tok = models.load_tokenizer("tiny")
    rows = _rows(4)
    (pack,) = data.pack_to_budget(iter(rows), sum(len(r["input_ids"]) for r in rows))
    batch = data.BatchCollator(DataCollatorForLanguageModeling(pad_token_id=tok.pad_token_id, padding_free=True))([pack])
    stats = batch.pop(data.BatchStats.KEY)
    assert stats.padded_tokens == stats.real_tokens and stats.n_samples == 4
    dense = {}
    for attn in ("sdpa", attention.register()):
        model = models.load_model("tiny", tok, dtype="float32", attn_implementation=attn, seed=3)
        with StepProbe.for_model(model) as probe:
            model(**batch, use_cache=False).logits.sum().backward()
        dense[attn] = probe.summary(1)["dense_tt_tensors"]
    assert dense["sdpa"] > 0, "sdpa builds the block-diagonal T x T mask of a packed row"
    assert dense[attention.NAME] == 0


@pytest.mark.slow
def test_step_overhead_benchmark_with_a_budget_reads_nothing_back(capsys):
    from arc25.commands.benchmark_step_overhead import cli

    cli(["--modes", "lora", "--n-layers", "2", "--batch-size", "8", "--steps", "1", "--warmup-steps", "1",
         "--repeats", "1", "--max-side", "4", "--token-budget", "1024"])
    result = json.loads(capsys.readouterr().out)
    assert result["probe"]["attention"] == "sdpa_varlen" and result["probe"]["samples_per_step_mean"] > 2
    trainer = result["modes"]["lora"]["trainer"]
    assert trainer["dense_tt_tensors"] == 0
    assert trainer["syncs_per_micro_batch"] == 0, trainer["sync_sites"]


@pytest.mark.slow
def test_budget_run_resumes_with_fresh_samples(tmp_path):
    run = dict(TINY_RUN, per_device_train_batch_size=1, batch_size=4, token_budget=2048, dump_samples=40)
    finetuning.main(finetuning.Config(output_dir=str(tmp_path), **dict(run, max_steps=2, save_steps=2)))
    finetuning.main(finetuning.Config(output_dir=str(tmp_path), **dict(run, max_steps=4, save_steps=2)))
    assert json.loads((tmp_path / "cfg.json").read_text())["resume_step"] == 2
    dumped = [json.loads(line) for line in (tmp_path / "samples" / "rank0.jsonl").read_text().splitlines()]
    before = {s["code"] for s in dumped if s["run_start_step"] == 0}
    after = {s["code"] for s in dumped if s["run_start_step"] == 2}
    assert before and after and not before & after, "the resumed run replayed samples"


def test_a_budget_row_larger_than_the_batch_is_warned_about_with_a_budget_that_fits(tmp_path, caplog):
    run = dict(TINY_RUN, per_device_train_batch_size=1, batch_size=2)
    with caplog.at_level("WARNING", logger="arc25.finetuning"):
        finetuning.prepare(finetuning.Config(output_dir=str(tmp_path / "big"), token_budget=8192, **run))
    (warning,) = [r.getMessage() for r in caplog.records if "below one --token-budget row" in r.getMessage()]
    suggested = int(warning.rsplit(" ", 1)[1])
    assert 1024 <= suggested < 8192, warning
    caplog.clear()
    with caplog.at_level("WARNING", logger="arc25.finetuning"):
        finetuning.prepare(finetuning.Config(output_dir=str(tmp_path / "fits"), token_budget=1024,
                                             **dict(run, batch_size=4)))
    assert not [r for r in caplog.records if "below one --token-budget row" in r.getMessage()]
