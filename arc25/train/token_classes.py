"""Loss per token class of a program: does the model read the grid, or only write the grammar?

Every completion (label) token gets one class:

- ``function``: a DSL draw function's name (``draw_line``, ``flood_fill``, ...);
- ``color``: a draw's colour digit;
- ``row``: the digits of a point's row, and draw_horizontal_line's ``y``;
- ``col``: the digits of a point's column, and draw_vertical_line's ``x``;
- ``grammar``: everything else (``def task(img):``, punctuation, keywords, the fences, end of turn) — including
  flood_fill's ``connectivity`` value, which the generators write only as 8: the choice is made at the ``,``
  before it (grammar) and the digit itself is then certain.

Classes come from the text: each line that is a call of a draw function is parsed with ``ast`` and its arguments
bound to the function's signature; a token takes the class of the first non-grammar character it covers (so
Qwen's `` draw`` token, space included, is ``function``). Tokenizers here split every digit into its own token
(arc25.models.check_tokenizer), so a digit token is always exactly one digit.

Each class's mean loss (nats per token) is logged beside its *guessing baseline*: the expected loss per token of
a predictor that knows the mixture but reads nothing from the grids (see ``guess_baselines``).

Two ways in: ``class_losses`` runs a model on a list of tasks (one forward per batch, only the completion
positions' logits built); ``EvalTokenClasses`` collects the same figures from the trainer's own eval forward (trl's
fused LM head returns each label's log-probability and whether it was the argmax), so it costs no extra forward.
"""

from __future__ import annotations

import ast
import inspect
import math
from collections import defaultdict
from types import SimpleNamespace
from typing import Iterable, Sequence

from arc25 import dsl
from arc25.prompts.prompting import DEFAULT_PROMPT_STYLE

__all__ = [
    "CLASSES",
    "GUESSED",
    "EvalTokenClasses",
    "Tally",
    "char_classes",
    "class_losses",
    "classify_ids",
    "classify_tokens",
    "guess_baselines",
    "label_runs",
    "uniform_guess_loss",
]

CLASSES = ("grammar", "function", "color", "row", "col")
GUESSED = ("function", "color", "row", "col")  # the classes with a guessing baseline (grammar has no choices)
N_COLORS = 10

# DSL parameter -> class of the argument's characters; points split into (row, col).
_POINT_PARAMS = {"point", "point1", "point2"}
_SCALAR_PARAMS = {"y": "row", "x": "col", "color": "color"}
# The v1 drawing functions only: the classes (and the metrics of every trained model) must not change as the DSL grows.
_DRAW_FUNCTIONS = {name: inspect.signature(getattr(dsl, name)) for name in dsl.V1_NAMES if name != "create_img"}


def _mark(classes: list[str], line_start: int, line: str, node: ast.AST, cls: str) -> None:
    # ast offsets are UTF-8 byte offsets into the parsed line; programs are ASCII, but stay safe if not.
    if node.lineno != 1 or node.end_lineno != 1:
        return
    start = len(line.encode()[: node.col_offset].decode(errors="ignore"))
    end = len(line.encode()[: node.end_col_offset].decode(errors="ignore"))
    for i in range(line_start + start, line_start + end):
        classes[i] = cls


def _classify_call(classes: list[str], line_start: int, line: str) -> None:
    try:
        tree = ast.parse(line)
    except SyntaxError:
        return
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr) or not isinstance(tree.body[0].value, ast.Call):
        return
    call = tree.body[0].value
    if not isinstance(call.func, ast.Name) or call.func.id not in _DRAW_FUNCTIONS:
        return
    try:
        bound = _DRAW_FUNCTIONS[call.func.id].bind(*call.args, **{k.arg: k.value for k in call.keywords if k.arg})
    except TypeError:
        return
    _mark(classes, line_start, line, call.func, "function")
    for param, node in bound.arguments.items():
        if param in _POINT_PARAMS:
            if isinstance(node, ast.Tuple) and len(node.elts) == 2:
                _mark(classes, line_start, line, node.elts[0], "row")
                _mark(classes, line_start, line, node.elts[1], "col")
        elif param in _SCALAR_PARAMS:
            _mark(classes, line_start, line, node, _SCALAR_PARAMS[param])


def char_classes(text: str) -> list[str]:
    """The class of every character of ``text`` (a program, or a whole completion with its fences)."""
    classes = ["grammar"] * len(text)
    start = 0
    for line in text.splitlines(keepends=True):
        body = line.strip()
        if body and "(" in body:
            indent = len(line) - len(line.lstrip())
            _classify_call(classes, start + indent, body)
        start += len(line)
    return classes


def _token_texts(ids: Sequence[int], tokenizer) -> list[str]:
    """Each token's text, such that their concatenation is the decoded sequence."""
    kwargs = dict(skip_special_tokens=False, clean_up_tokenization_spaces=False)
    pieces = [tokenizer.decode([i], **kwargs) for i in ids]
    if "".join(pieces) == tokenizer.decode(list(ids), **kwargs):
        return pieces
    # A token that is part of a multi-byte character decodes alone to a replacement char: fall back to prefixes.
    pieces, done = [], ""
    for n in range(1, len(ids) + 1):
        text = tokenizer.decode(list(ids[:n]), **kwargs)
        pieces.append(text[len(done):] if text.startswith(done) else "")
        done = text if text.startswith(done) else done
    return pieces


def classify_ids(ids: Sequence[int], tokenizer) -> list[str]:
    """The class of every token of ``ids`` (a program or completion as the model reads it)."""
    pieces = _token_texts(ids, tokenizer)
    chars = char_classes("".join(pieces))
    out, pos = [], 0
    for piece in pieces:
        span = chars[pos : pos + len(piece)]
        out.append(next((c for c in span if c != "grammar"), "grammar"))
        pos += len(piece)
    return out


def classify_tokens(code: str, tokenizer) -> list[str]:
    """The class of every token of ``code`` tokenised alone (no special tokens)."""
    return classify_ids(tokenizer(code, add_special_tokens=False)["input_ids"], tokenizer)


# --- guessing baselines -----------------------------------------------------------------------------------


def uniform_guess_loss(sequences: Iterable[Sequence]) -> float:
    """Mean loss per token of the best predictor that knows the candidates (equally likely) but not which one.

    At every prefix it spreads its probability over the candidates still consistent with it (stopping counts as an
    outcome, but its token belongs to another class, so it is not counted). Ten one-token candidates give log(10);
    values 0-29 written in digits give less per digit token than log(30), spread over their 1.67 digits.
    """
    seqs = [tuple(s) for s in sequences]
    total, n_tokens = 0.0, 0
    for s in seqs:
        for i, token in enumerate(s):
            alive = [t for t in seqs if t[:i] == s[:i]]
            same = sum(1 for t in alive if len(t) > i and t[i] == token)
            total -= math.log(same / len(alive))
        n_tokens += len(s)
    return total / n_tokens if n_tokens else float("nan")


def _function_tokens(name: str, tokenizer) -> tuple:
    # The name as written in a program, so the tokens (and their merges with the indent) are those trained on.
    ids = tokenizer(f"def task(img):\n    {name}(img, 0, color=1)\n", add_special_tokens=False)["input_ids"]
    return tuple(i for i, c in zip(ids, classify_ids(ids, tokenizer)) if c == "function")


def guess_baselines(mixture, tokenizer) -> dict[str, float]:
    """Per-token loss of guessing each class from the mixture alone, never looking at a grid.

    - function: uniform over the draw functions of the mixture (generators pick them uniformly), per token of
      their names as this tokenizer splits them; log(n functions) when each name is one token.
    - color: log(10): any colour 0-9 (the background colour a model could rule out is read from the grid).
    - row, col: uniform over the values 0 .. max_side-1 (max_side: the mixture's largest side), per digit token:
      log(max_side) for max_side <= 10; for two-digit sides the value's cost spread over its digits
      (uniform_guess_loss), e.g. 1.94 nats per digit for max_side 30, against log(10) = 2.30.
    """
    from arc25.tasks import make_mixture

    mix = make_mixture(mixture) if isinstance(mixture, str) else mixture
    functions = sorted({f for _, _, cfg in mix.generators for f in cfg.functions})
    max_side = max(cfg.max_side for _, _, cfg in mix.generators)
    coord = uniform_guess_loss(str(v) for v in range(max_side))
    return {
        "function": uniform_guess_loss(_function_tokens(f, tokenizer) for f in functions),
        "color": math.log(N_COLORS),
        "row": coord,
        "col": coord,
    }


# --- tallies ------------------------------------------------------------------------------------------------


class Tally:
    """Per-class sums of loss, tokens and correct argmax predictions; add tallies of batches, ranks, ..."""

    def __init__(self):
        self.loss = defaultdict(float)
        self.tokens = defaultdict(int)
        self.correct = defaultdict(int)
        self.judged = defaultdict(int)  # tokens whose argmax was known (accuracy is correct / judged)

    def add(self, classes: Sequence[str], losses: Sequence[float], correct: Sequence[bool] | None = None) -> None:
        for i, (cls, loss) in enumerate(zip(classes, losses)):
            self.loss[cls] += float(loss)
            self.tokens[cls] += 1
            if correct is not None:
                self.correct[cls] += bool(correct[i])
                self.judged[cls] += 1

    def as_list(self) -> list[float]:
        """A fixed-length vector (per class in CLASSES order: loss, tokens, correct, judged), to sum over processes."""
        return [x for c in CLASSES for x in (self.loss[c], self.tokens[c], self.correct[c], self.judged[c])]

    @classmethod
    def from_list(cls, values: Sequence[float]) -> "Tally":
        tally = cls()
        for i, c in enumerate(CLASSES):
            loss, tokens, correct, judged = values[4 * i : 4 * i + 4]
            if tokens:
                tally.loss[c], tally.tokens[c] = float(loss), int(round(tokens))
                tally.correct[c], tally.judged[c] = int(round(correct)), int(round(judged))
        return tally

    def metrics(self, guesses: dict[str, float] | None = None, prefix: str = "", with_accuracy: bool = True,
                with_tokens: bool = False) -> dict[str, float]:
        """``{prefix}loss_<class>``, ``{prefix}guess_<class>``, ``{prefix}accuracy_<class>`` for classes seen."""
        out = {}
        for c in CLASSES:
            n = self.tokens.get(c, 0)
            if not n:
                continue
            out[f"{prefix}loss_{c}"] = round(self.loss[c] / n, 4)
            if guesses and c in guesses:
                out[f"{prefix}guess_{c}"] = round(guesses[c], 4)
            if with_accuracy and self.judged.get(c):
                out[f"{prefix}accuracy_{c}"] = round(self.correct[c] / self.judged[c], 4)
            if with_tokens:
                out[f"{prefix}tokens_{c}"] = n
        return out


def label_runs(labels: Sequence[int]) -> list[tuple[int, int]]:
    """(start, end) of each run of consecutive non-ignored (-100) labels: one completion each, packed rows too."""
    runs, start = [], None
    for i, label in enumerate(labels):
        if label != -100 and start is None:
            start = i
        elif label == -100 and start is not None:
            runs.append((start, i))
            start = None
    if start is not None:
        runs.append((start, len(labels)))
    return runs


class _Classifier:
    """classify_ids with a cache: an eval set's completions are the same at every evaluation."""

    def __init__(self, tokenizer, limit: int = 100_000):
        self.tokenizer = tokenizer
        self.cache: dict[tuple, list[str]] = {}
        self.limit = limit

    def __call__(self, ids: Sequence[int]) -> list[str]:
        key = tuple(int(i) for i in ids)
        found = self.cache.get(key)
        if found is None:
            found = classify_ids(key, self.tokenizer)
            if len(self.cache) < self.limit:
                self.cache[key] = found
        return found

    def tally_row(self, tally: Tally, labels: Sequence[int], log_probs: Sequence[float], correct=None) -> None:
        """Add one row whose ``labels[j]`` is scored by ``log_probs[j]`` (already aligned: shifted labels)."""
        for start, end in label_runs(labels):
            classes = self(labels[start:end])
            tally.add(classes, [-lp for lp in log_probs[start:end]], None if correct is None else correct[start:end])


# --- on a model and tasks -----------------------------------------------------------------------------------


def _as_task(task):
    """A tasks.Task or a tasksets.EvalTask, as what prompting's task_to_prompt_completion reads."""
    if hasattr(task, "inputs"):
        return task
    if task.code is None:
        raise ValueError(f"task {getattr(task, 'task_id', '?')} has no code: per-class loss needs the target program")
    return SimpleNamespace(inputs=task.train_inputs, outputs=task.train_outputs, code=task.code)


def class_losses(model, tokenizer, tasks, encoder_spec: str, prompt_style: str = DEFAULT_PROMPT_STYLE,
                 batch_size: int = 8, *, mixture=None) -> dict[str, float]:
    """Mean loss, argmax accuracy and token count per class of the tasks' target programs under ``model``.

    ``tasks``: arc25.tasks.Task or arc25.tasks.tasksets.EvalTask objects with code. The examples are formatted exactly as
    training formats them (arc25.prompts.chat.ChatFormatter). Returns ``loss_<class>``, ``accuracy_<class>``,
    ``tokens_<class>`` for every class present, ``guess_<class>`` (see guess_baselines) when ``mixture`` (a name or
    arc25.tasks.Mixture) is given, and ``loss`` (all completion tokens). The model runs in eval mode, then is put
    back in the mode it was in.
    """
    import torch

    from arc25.models import compat
    from arc25.prompts.chat import ChatFormatter
    from arc25.prompts.encoders import get_encoder
    from arc25.prompts.prompting import task_to_prompt_completion

    formatter = ChatFormatter(tokenizer, prompt_style)
    encoder = get_encoder(encoder_spec)
    rows = []
    for task in tasks:
        prompt, completion = formatter.texts(task_to_prompt_completion(_as_task(task), encoder, prompt_style))
        rows.append((formatter.encode(prompt), formatter.encode(completion)))
    classify = _Classifier(tokenizer)
    tally = Tally()
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    keep_arg = compat.accepts_logits_to_keep(model)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    # Longest first, so the first batch shows whether memory suffices; similar lengths share a batch.
    order = sorted(range(len(rows)), key=lambda i: -(len(rows[i][0]) + len(rows[i][1])))
    for b in range(0, len(order), batch_size):
        batch = [rows[i] for i in order[b : b + batch_size]]
        width = max(len(p) + len(c) for p, c in batch)
        keep = max(len(c) for _, c in batch) + 1  # logits of the last prompt token on
        # Left padding puts every completion at the end, so only the last ``keep`` positions need logits; position
        # ids count from each row's first real token, as in training's right-padded batches.
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for r, (p, c) in enumerate(batch):
            seq = p + c
            ids[r, width - len(seq):] = torch.tensor(seq)
            mask[r, width - len(seq):] = 1
        positions = (mask.cumsum(1) - 1).clamp(min=0)
        kwargs = dict(input_ids=ids.to(device), attention_mask=mask.to(device), position_ids=positions.to(device))
        if keep_arg:
            kwargs["logits_to_keep"] = keep
        with torch.no_grad():
            logits = model(**kwargs).logits
        logits = logits[:, -keep:-1].float()
        log_probs = torch.log_softmax(logits, dim=-1)
        for r, (_, c) in enumerate(batch):
            target = torch.tensor(c, device=log_probs.device)
            row = log_probs[r, keep - 1 - len(c):]
            lp = row.gather(1, target[:, None])[:, 0]
            top = row.argmax(-1) == target
            classify.tally_row(tally, c, lp.tolist(), top.tolist())
    model.train(was_training)
    out = tally.metrics(guess_baselines(mixture, tokenizer) if mixture is not None else None, with_tokens=True)
    n = sum(tally.tokens.values())
    out["loss"] = round(sum(tally.loss.values()) / n, 4) if n else float("nan")
    return out


# --- in the trainer's evaluation ----------------------------------------------------------------------------


class EvalTokenClasses:
    """Collects per-class loss from the trainer's eval forwards (trl's fused LM head outputs), no extra forward.

    arc25.train.trainer.ArcTrainer calls ``start`` before its evaluation loop, ``observe`` from a forward hook on every
    eval batch, and ``metrics(reduce)`` after: ``reduce`` sums the tally vector over processes (every rank must
    call it, which every rank does, as every rank runs the evaluation loop).
    """

    def __init__(self, tokenizer, mixture):
        self.classify = _Classifier(tokenizer)
        self.guesses = guess_baselines(mixture, tokenizer)
        self.tally = Tally()
        self.missing = False

    def start(self) -> None:
        self.tally = Tally()
        self.missing = False

    def observe(self, output, labels=None, shift_labels=None) -> None:
        """One eval forward: its output and the labels it was given (unshifted) or shift_labels (pre-shifted)."""
        import torch

        if labels is None and shift_labels is None:
            return
        shifted = shift_labels if shift_labels is not None else labels[:, 1:]
        log_probs = getattr(output, "log_probs", None)
        correct = getattr(output, "is_top1", None)
        if log_probs is None:
            logits = getattr(output, "logits", None)
            if logits is None:
                self.missing = True
                return
            logits = logits if shift_labels is not None else logits[:, :-1]
            logits = logits.detach().float()
            lp = torch.log_softmax(logits, dim=-1)
            log_probs = lp.gather(-1, shifted.clamp(min=0).unsqueeze(-1)).squeeze(-1)
            correct = logits.argmax(-1) == shifted
        shifted = shifted.detach().cpu().tolist()
        log_probs = log_probs.detach().float().cpu().tolist()
        correct = None if correct is None else correct.detach().cpu().tolist()
        for r, row in enumerate(shifted):
            self.classify.tally_row(self.tally, row, log_probs[r], None if correct is None else correct[r])

    def metrics(self, reduce=None, prefix: str = "eval_") -> dict[str, float]:
        """``{prefix}loss_<class>``, ``{prefix}guess_<class>``, ``{prefix}accuracy_<class>``, summed over ranks."""
        values = self.tally.as_list()
        if reduce is not None:
            values = reduce(values)
        return Tally.from_list(values).metrics(self.guesses, prefix=prefix)
