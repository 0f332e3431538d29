"""Text encodings of grids for prompts, addressed by composable spec strings.

An encoder turns a grid into text (``to_text``) and back (``to_grid``) exactly.
Wrappers such as ``RowNumberEncoder`` take an inner encoder, so encodings
compose and are named by a spec string like
``GridShapeEncoder(RowNumberEncoder(MinimalGridEncoder()))``. Specs are parsed
by a small recursive-descent parser over the ``ENCODERS`` registry.
"""

from __future__ import annotations

import functools
import re
from typing import ClassVar

import numpy as np

__all__ = [
    "DEFAULT_ENCODER_SPEC",
    "JOURNAL_ENCODER_SPEC",
    "ENCODERS",
    "GridEncoder",
    "ChangesEncoder",
    "ChangesOnlyEncoder",
    "ChangeBoxesEncoder",
    "GridShapeEncoder",
    "MinimalGridEncoder",
    "RowNumberEncoder",
    "get_encoder",
]

# The research journal's encoding: a shape header and numbered rows of digits.
JOURNAL_ENCODER_SPEC = "GridShapeEncoder(RowNumberEncoder(MinimalGridEncoder()))"
# The journal's grids plus, under each output, the cells it changed with their coordinates: the builtin models
# learn to read positions from it several times faster (docs/ladder.md, docs/results/).
DEFAULT_ENCODER_SPEC = f"ChangesEncoder({JOURNAL_ENCODER_SPEC})"

_ZERO = ord("0")
_NEWLINE = ord("\n")


def _check_grid(grid) -> np.ndarray:
    """Return ``grid`` as a non-empty 2-D integer array with colours 0-9, or raise ValueError."""
    g = np.asarray(grid)
    if g.ndim != 2 or g.size == 0:
        raise ValueError(f"grid must be a non-empty 2-D array, got shape {g.shape}")
    kind = g.dtype.kind
    if kind == "i":
        # Viewing signed as unsigned turns negatives into huge values, so one max() checks both ends.
        too_big = g.view(f"u{g.dtype.itemsize}").max() > 9
    elif kind == "u":
        too_big = g.max() > 9
    else:
        raise ValueError(f"grid must hold integers, got dtype {g.dtype}")
    if too_big:
        raise ValueError(f"grid colours must be 0-9, got values in [{g.min()}, {g.max()}]")
    return g


class GridEncoder:
    """Base class: a reversible grid <-> text encoding with a canonical spec string."""

    name: ClassVar[str] = ""
    n_inner: ClassVar[int] = 0
    # Encoders that describe an output relative to its input (output_text) only mean that on the outside.
    outermost_only: ClassVar[bool] = False

    @property
    def spec(self) -> str:
        """The canonical spec string that ``get_encoder`` turns back into this encoder."""
        raise NotImplementedError

    def to_text(self, grid) -> str:
        """Encode a grid as text."""
        raise NotImplementedError

    def to_grid(self, text: str) -> np.ndarray:
        """Decode text made by ``to_text`` back into the grid; ValueError if malformed."""
        raise NotImplementedError

    def output_text(self, grid_in, grid_out) -> str:
        """Encode an example's output grid; encoders that describe it relative to its input override this."""
        return self.to_text(grid_out)

    def output_grid(self, grid_in, text: str) -> np.ndarray:
        """Decode text made by ``output_text`` back into the output grid."""
        return self.to_grid(text)

    def __repr__(self) -> str:
        return self.spec

    def __eq__(self, other) -> bool:
        return isinstance(other, GridEncoder) and other.spec == self.spec

    def __hash__(self) -> int:
        return hash(self.spec)


class MinimalGridEncoder(GridEncoder):
    """One digit per cell, one line per row: ``"012\\n345"``."""

    name = "MinimalGridEncoder"
    n_inner = 0

    @property
    def spec(self) -> str:
        """The canonical spec string."""
        return "MinimalGridEncoder()"

    def to_text(self, grid) -> str:
        """Encode rows of digits joined by newlines."""
        g = _check_grid(grid)
        rows, cols = g.shape
        # Build the ASCII bytes in one buffer: digits plus a newline column, then drop the last newline.
        buf = np.empty((rows, cols + 1), dtype=np.uint8)
        np.add(g, _ZERO, out=buf[:, :cols], casting="unsafe")
        buf[:, cols] = _NEWLINE
        return buf.tobytes()[:-1].decode("ascii")

    def to_grid(self, text: str) -> np.ndarray:
        """Decode rows of digits; ValueError on ragged rows or non-digit characters."""
        lines = text.strip().split("\n")
        width = len(lines[0])
        if width == 0:
            raise ValueError("empty grid text")
        if any(len(line) != width for line in lines):
            raise ValueError(f"ragged grid text: row lengths {sorted({len(line) for line in lines})}")
        try:
            raw = "".join(lines).encode("ascii")
        except UnicodeEncodeError:
            raise ValueError("grid text has non-digit characters") from None
        # uint8 subtraction wraps characters below '0' round to large values, so one max() catches all.
        digits = np.frombuffer(raw, dtype=np.uint8) - np.uint8(_ZERO)
        if digits.max() > 9:
            bad = next(ch for ch in raw.decode("ascii") if not "0" <= ch <= "9")
            raise ValueError(f"grid text has non-digit character {bad!r}")
        return digits.reshape(len(lines), width).astype(np.int64)


class _WrapperEncoder(GridEncoder):
    """Base for encoders that decorate the text of one inner encoder."""

    n_inner = 1

    def __init__(self, inner: GridEncoder):
        if not isinstance(inner, GridEncoder):
            raise ValueError(f"{self.name} needs an inner GridEncoder, got {inner!r}")
        self.inner = inner

    @property
    def spec(self) -> str:
        """The canonical spec string, nesting the inner encoder's spec."""
        return f"{self.name}({self.inner.spec})"


# Row-number prefixes are looked up rather than formatted per call; longer texts extend lazily.
_ROW_PREFIXES = [f"{i} " for i in range(64)]


class RowNumberEncoder(_WrapperEncoder):
    """Prefix each line of the inner text with its 0-based number and a space: ``"0 012\\n1 345"``."""

    name = "RowNumberEncoder"

    def to_text(self, grid) -> str:
        """Encode with the inner encoder, then number its lines."""
        lines = self.inner.to_text(grid).split("\n")
        if len(lines) > len(_ROW_PREFIXES):
            _ROW_PREFIXES.extend(f"{i} " for i in range(len(_ROW_PREFIXES), len(lines)))
        return "\n".join([prefix + line for prefix, line in zip(_ROW_PREFIXES, lines)])

    def to_grid(self, text: str) -> np.ndarray:
        """Check and strip the line numbers, then decode with the inner encoder."""
        body = []
        for i, line in enumerate(text.strip().split("\n")):
            number, sep, rest = line.partition(" ")
            if not sep or number != str(i):
                raise ValueError(f"line {i} should start with {i!r} and a space, got {line[:12]!r}")
            body.append(rest)
        return self.inner.to_grid("\n".join(body))


_SHAPE_HEADER = re.compile(r"shape: (\d+)x(\d+)")


class GridShapeEncoder(_WrapperEncoder):
    """Put a ``"shape: ROWSxCOLS"`` header line before the inner text."""

    name = "GridShapeEncoder"

    def to_text(self, grid) -> str:
        """Encode with the inner encoder under a shape header."""
        body = self.inner.to_text(grid)
        rows, cols = np.shape(grid)
        return f"shape: {rows}x{cols}\n{body}"

    def to_grid(self, text: str) -> np.ndarray:
        """Parse the header, decode the rest and check the shapes agree."""
        header, _, body = text.strip().partition("\n")
        match = _SHAPE_HEADER.fullmatch(header.strip())
        if match is None:
            raise ValueError(f"expected a 'shape: ROWSxCOLS' header, got {header[:30]!r}")
        grid = self.inner.to_grid(body)
        expected = (int(match.group(1)), int(match.group(2)))
        if grid.shape != expected:
            raise ValueError(f"header says shape {expected} but the grid is {grid.shape}")
        return grid


_CHANGES_HEADER = "changes:"
_RUN = re.compile(r"\((\d+), (\d+)\)(?:-\((\d+), (\d+)\))? color=(\d)")


def _changed_runs(grid_in: np.ndarray, grid_out: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Row-major runs (row, first col, last col, colour) of cells whose colour the output changed."""
    runs = []
    for row, col in zip(*np.nonzero(grid_in != grid_out)):
        row, col, color = int(row), int(col), int(grid_out[row, col])
        if runs and runs[-1][0] == row and runs[-1][2] == col - 1 and runs[-1][3] == color:
            runs[-1] = (row, runs[-1][1], col, color)
        else:
            runs.append((row, col, col, color))
    return runs


class ChangesEncoder(_WrapperEncoder):
    """Write each output after the inner text of it as the cells it changed, with their (row, col) coordinates.

    A program's arguments are positions, which a model must otherwise count out cell by cell in a grid. Here
    every changed cell is named in the same ``(row, col)`` form the DSL's points take, one row-major run of
    equal colour per line: ``(2, 0)-(2, 5) color=7`` is row 2's cells 0-5 turned to colour 7. The colour is
    written as programs write it (``color=7``): a model copies it after the same tokens, which `tiny` learnt
    several times faster than after ``: 7`` (docs/results/2026-11-30-learning-ladder.md). Inputs, and outputs of
    another shape than their input, are the inner text alone.
    """

    name = "ChangesEncoder"
    outermost_only = True
    # Whether the output grid is written above its changes (ChangesOnlyEncoder leaves it out).
    show_output: ClassVar[bool] = True

    def to_text(self, grid) -> str:
        """The inner encoder's text (inputs have nothing to compare with)."""
        return self.inner.to_text(grid)

    def to_grid(self, text: str) -> np.ndarray:
        """Decode the inner text, ignoring a changes section."""
        return self.inner.to_grid(text.split("\n" + _CHANGES_HEADER, 1)[0])

    def output_text(self, grid_in, grid_out) -> str:
        """The inner text of the output, then ``changes:`` and one line per run of changed cells."""
        grid_in, grid_out = np.asarray(grid_in), np.asarray(grid_out)
        if grid_in.shape != grid_out.shape:
            return self.inner.to_text(grid_out)
        lines = [self.inner.to_text(grid_out)] if self.show_output else []
        lines.append(_CHANGES_HEADER)
        for row, first, last, color in _changed_runs(grid_in, grid_out):
            cells = f"({row}, {first})" if first == last else f"({row}, {first})-({row}, {last})"
            lines.append(f"{cells} color={color}")
        if lines[-1] == _CHANGES_HEADER:
            lines.append("none")
        return "\n".join(lines)

    def output_grid(self, grid_in, text: str) -> np.ndarray:
        """Decode the inner text of the output and check the changes section agrees with it."""
        body, sep, changes = text.strip().partition("\n" + _CHANGES_HEADER)
        grid = self.inner.to_grid(body)
        if not sep:
            if np.shape(grid_in) == grid.shape:
                raise ValueError("output of the input's shape without a 'changes:' section")
            return grid
        expected = self.output_text(grid_in, grid)
        if expected.split("\n" + _CHANGES_HEADER, 1)[1] != changes:
            raise ValueError("the 'changes:' section disagrees with the output grid")
        return grid


_BOXES_HEADER = "boxes:"


def _colour_boxes(grid_in: np.ndarray, grid_out: np.ndarray) -> list[tuple[int, int, int, int, int, int]]:
    """Per colour the output changed cells to, in row-major order of its first changed cell: (colour, top, left,
    bottom, right, number of changed cells)."""
    rows, cols = np.nonzero(grid_in != grid_out)
    colours = grid_out[rows, cols]
    boxes = []
    for color in dict.fromkeys(colours.tolist()):  # first appearance, row-major
        mine = colours == color
        r, c = rows[mine], cols[mine]
        boxes.append((int(color), int(r.min()), int(c.min()), int(r.max()), int(c.max()), int(mine.sum())))
    return boxes


def _with_boxes(text: str, header: str, boxes: list[tuple[int, int, int, int, int, int]]) -> str:
    """``text``, then ``header`` and a line per (colour, top, left, bottom, right, cells), as the DSL writes corners;
    ``text`` alone when there are none."""
    if not boxes:
        return text
    lines = [f"({top}, {left})-({bottom}, {right}) color={color} cells={n}" for color, top, left, bottom, right, n in boxes]
    return "\n".join([text, header, *lines])


class ChangeBoxesEncoder(ChangesEncoder):
    """Like ChangesEncoder, then per colour of the changes its bounding box and how many cells it changed.

    A draw is a box of one colour: a rectangle fills its box, a line runs corner to corner, a row or column spans
    the grid. The runs list a shape row by row, so a model must gather them to find its corners, and a shape that a
    later draw covers in part shows as scattered runs. ``(1, 0)-(3, 3) color=5 cells=10`` names the corners as the
    DSL writes them and, by falling short of the box's area, that something lies on top.
    """

    name = "ChangeBoxesEncoder"

    def output_text(self, grid_in, grid_out) -> str:
        """ChangesEncoder's text, then ``boxes:`` and one line per colour when the output changed cells."""
        text = super().output_text(grid_in, grid_out)
        grid_in, grid_out = np.asarray(grid_in), np.asarray(grid_out)
        if grid_in.shape != grid_out.shape:
            return text
        return _with_boxes(text, _BOXES_HEADER, _colour_boxes(grid_in, grid_out))


_PARTS_HEADER = "parts:"
# A cap on the parts section (30 lines, ~400 tokens): past it, a colour's box and count are what a model can use.
MAX_PARTS = 30


def _colour_parts(grid_in: np.ndarray, grid_out: np.ndarray) -> list[tuple[int, int, int, int, int, int]]:
    """For each colour whose changed cells fall apart into several 8-connected groups (colours in boxes' order),
    each group as (colour, top, left, bottom, right, number of cells), top to bottom then left to right."""
    from skimage.measure import label

    changed = grid_in != grid_out
    parts = []
    for color in dict.fromkeys(grid_out[changed].tolist()):  # first appearance, row-major, as the boxes list them
        labels, count = label(changed & (grid_out == color), connectivity=2, return_num=True)
        if count < 2:
            continue
        mine = []
        for group in range(1, count + 1):
            rows, cols = np.nonzero(labels == group)
            mine.append((color, int(rows.min()), int(cols.min()), int(rows.max()), int(cols.max()), int(rows.size)))
        parts.extend(sorted(mine, key=lambda part: part[1:3]))
    return parts


class ChangePartsEncoder(ChangeBoxesEncoder):
    """Like ChangeBoxesEncoder, then for a colour whose changes are several separate groups, each group's box.

    Draws of one colour share one colour box: the squares of ``squares:N``, or two lines of one colour, are a single
    box over all of them, and their corners are back to being counted out of the runs. ``parts:`` lists each
    8-connected group of a colour's changed cells in the boxes' form, only for colours with more than one group
    (and at most MAX_PARTS lines), so a task of one draw per colour reads as under ChangeBoxesEncoder.
    """

    name = "ChangePartsEncoder"

    def output_text(self, grid_in, grid_out) -> str:
        """ChangeBoxesEncoder's text, then ``parts:`` and one line per group when a colour has several."""
        text = super().output_text(grid_in, grid_out)
        grid_in, grid_out = np.asarray(grid_in), np.asarray(grid_out)
        if grid_in.shape != grid_out.shape:
            return text
        return _with_boxes(text, _PARTS_HEADER, _colour_parts(grid_in, grid_out)[:MAX_PARTS])


class ChangesOnlyEncoder(ChangesEncoder):
    """Like ChangesEncoder, but an output of its input's shape is only its changes: the input and the changes
    determine it, and the prompt is shorter. Outputs of another shape are the inner text."""

    name = "ChangesOnlyEncoder"
    show_output = False

    def output_grid(self, grid_in, text: str) -> np.ndarray:
        """Apply the listed changes to the input (or decode an output of another shape)."""
        text = text.strip()
        if not text.startswith(_CHANGES_HEADER):
            grid = self.inner.to_grid(text)
            if grid.shape == np.shape(grid_in):
                raise ValueError("output of the input's shape without a 'changes:' section")
            return grid
        grid = np.array(grid_in, dtype=np.int64, copy=True)
        body = text[len(_CHANGES_HEADER):].strip()
        for line in [] if body == "none" else body.split("\n"):
            match = _RUN.fullmatch(line.strip())
            if match is None:
                raise ValueError(f"bad changes line {line[:40]!r}; expected '(row, col) color=K' or "
                                 "'(row, first col)-(row, last col) color=K'")
            row, first, row2, last, color = match.groups()
            last = first if last is None else last
            if row2 is not None and row2 != row:
                raise ValueError(f"a run stays in one row, got {line[:40]!r}")
            row, first, last = int(row), int(first), int(last)
            if not (row < grid.shape[0] and first <= last < grid.shape[1]):
                raise ValueError(f"changes line {line[:40]!r} is outside the {grid.shape} input")
            grid[row, first : last + 1] = int(color)
        return grid


ENCODERS: dict[str, type[GridEncoder]] = {
    "MinimalGridEncoder": MinimalGridEncoder,
    "RowNumberEncoder": RowNumberEncoder,
    "GridShapeEncoder": GridShapeEncoder,
    "ChangesEncoder": ChangesEncoder,
    "ChangesOnlyEncoder": ChangesOnlyEncoder,
    "ChangeBoxesEncoder": ChangeBoxesEncoder,
    "ChangePartsEncoder": ChangePartsEncoder,
}

_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_]*)|([()])|(\S))")


def _spec_error(spec: str, problem: str) -> ValueError:
    return ValueError(f"bad encoder spec {spec!r}: {problem}; valid names: {', '.join(ENCODERS)}")


def _tokenize(spec: str) -> list[tuple[str, int]]:
    """Split a spec into (token, position) pairs: names and parentheses."""
    tokens = []
    for match in _TOKEN.finditer(spec):
        name, paren, other = match.groups()
        if other is not None:
            raise _spec_error(spec, f"unexpected character {other!r} at position {match.start(3)}")
        if name is not None:
            tokens.append((name, match.start(1)))
        elif paren is not None:
            tokens.append((paren, match.start(2)))
    return tokens


class _SpecParser:
    """Recursive descent over ``spec := NAME [ "(" [spec] ")" ]``."""

    def __init__(self, spec: str):
        self.spec = spec
        self.tokens = _tokenize(spec)
        self.pos = 0

    def _peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def _where(self) -> str:
        return f"position {self.tokens[self.pos][1]}" if self.pos < len(self.tokens) else "end of spec"

    def _expect(self, token: str) -> None:
        if self._peek() != token:
            found = self._peek()
            raise _spec_error(self.spec, f"expected {token!r} at {self._where()}, found {found!r}")
        self.pos += 1

    def parse(self) -> GridEncoder:
        encoder = self._encoder()
        if self.pos != len(self.tokens):
            raise _spec_error(self.spec, f"unexpected {self._peek()!r} at {self._where()}")
        return encoder

    def _encoder(self) -> GridEncoder:
        name = self._peek()
        if name is None or name in ("(", ")"):
            raise _spec_error(self.spec, f"expected an encoder name at {self._where()}, found {name!r}")
        if name not in ENCODERS:
            raise _spec_error(self.spec, f"unknown encoder {name!r}")
        self.pos += 1
        cls = ENCODERS[name]
        inners = []
        if self._peek() == "(":
            self.pos += 1
            if self._peek() != ")":
                inners.append(self._encoder())
            self._expect(")")
        if len(inners) != cls.n_inner:
            raise _spec_error(self.spec, f"{name} takes {cls.n_inner} inner encoder(s), got {len(inners)}")
        for inner in inners:
            if inner.outermost_only:
                raise _spec_error(self.spec, f"{inner.name} must be the outermost encoder, not inside {name}")
        return cls(*inners)


@functools.lru_cache(maxsize=128)
def _parse_cached(spec: str) -> GridEncoder:
    return _SpecParser(spec).parse()


def get_encoder(spec: str = DEFAULT_ENCODER_SPEC) -> GridEncoder:
    """Build the encoder named by ``spec``; ValueError naming the problem if it is unknown or malformed."""
    if not isinstance(spec, str):
        raise ValueError(f"encoder spec must be a string, got {spec!r}; valid names: {', '.join(ENCODERS)}")
    # Encoders are stateless, so sharing one instance per spec is safe and skips re-parsing.
    return _parse_cached(spec)
