"""Input worlds: samplers of input grids that the generator families share.

A world draws one *instance*: a few input grids of one kind (object scenes, separator panels, marker scenes,
sprites, symmetric or periodic patterns with masked cells, noise, one-colour backgrounds with a few draws),
sharing the facts that kind fixes for every grid of the instance (background, separator colour, marker colour,
the colour that masks unknown cells...). Families read those facts to choose slot values that can take effect;
what the program computes it re-derives from the grid with DSL calls, so the facts never leak into the code.

Every random choice comes from the ``random.Random`` passed in: the same seed gives the same grids anywhere.
Worlds know nothing of programs or of each other; several families accept each world, so one instance may feed
two families and an input does not give its program away.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = ["WORLDS", "World", "Instance", "sample_instance", "random_shape"]

Point = tuple[int, int]


@dataclass
class Instance:
    """The inputs one world drew and the facts shared by all of them."""

    world: str
    grids: list[np.ndarray]
    facts: dict = field(default_factory=dict)


@dataclass(frozen=True)
class World:
    """A named sampler: ``sample(rng, n, hints) -> Instance`` draws n grids; hints are the family's wishes."""

    name: str
    sample: Callable[[random.Random, int, dict], Instance]
    doc: str


WORLDS: dict[str, World] = {}


def world(name: str):
    def register(fn):
        WORLDS[name] = World(name=name, sample=fn, doc=(fn.__doc__ or "").strip().splitlines()[0])
        return fn

    return register


def sample_instance(rng: random.Random, name: str, n: int, hints: dict | None = None) -> Instance:
    """Draw an instance of ``n`` grids from world ``name``."""
    if name not in WORLDS:
        raise ValueError(f"unknown world {name!r}; valid: {', '.join(WORLDS)}")
    return WORLDS[name].sample(rng, n, dict(hints or {}))


# --- shapes -------------------------------------------------------------------------------------------------

_STEPS = ((0, 1), (1, 0), (0, -1), (-1, 0))


def random_shape(rng: random.Random, kind: str, height: int, width: int) -> list[Point]:
    """Cells, relative to (0, 0), of a shape fitting height x width: 'blob', 'rect', 'hollow', 'line'."""
    if kind == "rect":
        return [(r, c) for r in range(height) for c in range(width)]
    if kind == "hollow":
        height, width = max(height, 3), max(width, 3)
        return [(r, c) for r in range(height) for c in range(width) if r in (0, height - 1) or c in (0, width - 1)]
    if kind == "line":
        return [(0, c) for c in range(width)] if rng.random() < 0.5 else [(r, 0) for r in range(height)]
    # blob: grow a 4-connected region inside the box from a random cell
    target = rng.randint(max(1, (height * width) // 3), max(1, (height * width * 3) // 4))
    cells = [(rng.randrange(height), rng.randrange(width))]
    seen = {cells[0]}
    while len(cells) < target:
        r, c = cells[rng.randrange(len(cells))]
        dr, dc = _STEPS[rng.randrange(4)]
        nr, nc = r + dr, c + dc
        if 0 <= nr < height and 0 <= nc < width and (nr, nc) not in seen:
            seen.add((nr, nc))
            cells.append((nr, nc))
    top = min(r for r, _ in cells)
    left = min(c for _, c in cells)
    return sorted((r - top, c - left) for r, c in cells)


def _stamp(grid: np.ndarray, occupied: np.ndarray, at: Point, cells: list[Point], color: int) -> None:
    """Paint ``cells`` in ``color`` with their top-left at ``at`` and mark them taken."""
    for r, c in cells:
        grid[at[0] + r, at[1] + c] = color
        occupied[at[0] + r, at[1] + c] = True


def _place(rng: random.Random, occupied: np.ndarray, cells: list[Point], margin: int = 1, tries: int = 30):
    """A top-left where ``cells`` land on free cells with ``margin`` free cells around, or None."""
    rows, cols = occupied.shape
    h = max(r for r, _ in cells) + 1
    w = max(c for _, c in cells) + 1
    if h > rows or w > cols:
        return None
    for _ in range(tries):
        top, left = rng.randrange(rows - h + 1), rng.randrange(cols - w + 1)
        window = occupied[max(0, top - margin): top + h + margin, max(0, left - margin): left + w + margin]
        if not window.any():
            return top, left
    return None


def _noise(rng: random.Random, shape: tuple[int, int], palette: list[int]) -> np.ndarray:
    raw = np.frombuffer(rng.randbytes(shape[0] * shape[1]), dtype=np.uint8)
    return np.array(palette, dtype=np.int64)[raw % len(palette)].reshape(shape)


def _side(rng: random.Random, hints: dict, low: int = 6, high: int = 14) -> tuple[int, int]:
    high = hints.get("max_side", high)
    low = min(hints.get("min_side", low), high)
    step = hints.get("multiple_of", 1)  # sides a split or a downscale can divide
    return tuple(max(step, rng.randint(low, high) // step * step) for _ in range(2))


# --- worlds -------------------------------------------------------------------------------------------------


@world("objects")
def _objects(rng: random.Random, n: int, hints: dict) -> Instance:
    """Several one-colour objects (blobs, rectangles, hollow boxes, lines) apart on a background."""
    bg = 0 if rng.random() < 0.7 else rng.randrange(10)
    palette = [c for c in range(10) if c != bg]
    n_colors = hints.get("n_colors") or rng.randint(1, 4)
    colors = rng.sample(palette, n_colors)
    kinds = hints.get("kinds", ("blob", "blob", "rect", "hollow", "line"))
    grids = []
    for _ in range(n):
        if hints.get("vary_colors"):  # summaries of colour need colours that change from grid to grid
            colors = rng.sample(palette, n_colors)
        shape = _side(rng, hints, 7, 15)
        grid = np.full(shape, bg, dtype=np.int64)
        occupied = np.zeros(shape, dtype=bool)
        count = rng.randint(hints.get("min_objects", 2), hints.get("max_objects", 5))
        for _ in range(count):
            h, w = rng.randint(1, 4), rng.randint(1, 4)
            cells = random_shape(rng, rng.choice(kinds), h, w)
            at = _place(rng, occupied, cells)
            if at is None:
                continue
            color = rng.choice(colors)
            _stamp(grid, occupied, at, cells, color)
        grids.append(grid)
    return Instance("objects", grids, {"background": bg, "colors": colors})


@world("holes")
def _holes(rng: random.Random, n: int, hints: dict) -> Instance:
    """Hollow boxes and rings, some closed, some open, with a few solid objects, on a background."""
    bg = 0 if rng.random() < 0.7 else rng.randrange(10)
    colors = rng.sample([c for c in range(10) if c != bg], rng.randint(1, 3))
    grids = []
    for _ in range(n):
        shape = _side(rng, hints, 8, 15)
        grid = np.full(shape, bg, dtype=np.int64)
        occupied = np.zeros(shape, dtype=bool)
        for _ in range(rng.randint(2, 5)):
            kind = rng.choice(("hollow", "hollow", "hollow", "blob", "rect"))
            cells = random_shape(rng, kind, rng.randint(3, 5), rng.randint(3, 5))
            if kind == "hollow" and rng.random() < 0.3:  # an open box: a gap in its wall
                cells.pop(rng.randrange(len(cells)))
            at = _place(rng, occupied, cells)
            if at is None:
                continue
            color = rng.choice(colors)
            _stamp(grid, occupied, at, cells, color)
        grids.append(grid)
    return Instance("holes", grids, {"background": bg, "colors": colors})


@world("markers")
def _markers(rng: random.Random, n: int, hints: dict) -> Instance:
    """A background with single-cell markers of one or two colours and a few wall segments of another colour."""
    bg = 0 if rng.random() < 0.7 else rng.randrange(10)
    marker, second, wall = rng.sample([c for c in range(10) if c != bg], 3)
    grids = []
    for _ in range(n):
        shape = _side(rng, hints, 7, 15)
        grid = np.full(shape, bg, dtype=np.int64)
        if rng.random() < hints.get("walls", 0.6):
            for _ in range(rng.randint(1, 3)):
                if rng.random() < 0.5:
                    r = rng.randrange(shape[0])
                    a, b = sorted(rng.sample(range(shape[1]), 2))
                    grid[r, a: b + 1] = wall
                else:
                    c = rng.randrange(shape[1])
                    a, b = sorted(rng.sample(range(shape[0]), 2))
                    grid[a: b + 1, c] = wall
        free = [(r, c) for r in range(shape[0]) for c in range(shape[1]) if grid[r, c] == bg]
        count = min(len(free), rng.randint(hints.get("min_markers", 1), hints.get("max_markers", 4)))
        for k, (r, c) in enumerate(rng.sample(free, count)):
            grid[r, c] = second if hints.get("two_colors") and k % 2 else marker
        grids.append(grid)
    return Instance("markers", grids, {"background": bg, "marker": marker, "second": second, "wall": wall})


@world("sprites")
def _sprites(rng: random.Random, n: int, hints: dict) -> Instance:
    """One to three small many-coloured sprites on a background (one sprite: a grid to crop, scale or tile)."""
    bg = 0 if rng.random() < 0.8 else rng.randrange(10)
    palette = [c for c in range(10) if c != bg]
    grids = []
    for _ in range(n):
        shape = _side(rng, hints, 6, 14)
        grid = np.full(shape, bg, dtype=np.int64)
        occupied = np.zeros(shape, dtype=bool)
        for _ in range(rng.randint(hints.get("min_sprites", 1), hints.get("max_sprites", 3))):
            h, w = rng.randint(2, 4), rng.randint(2, 4)
            colors = rng.sample(palette, rng.randint(2, 3))
            sprite = np.array(colors, dtype=np.int64)[np.frombuffer(rng.randbytes(h * w), dtype=np.uint8) % len(colors)]
            cells = [(r, c) for r in range(h) for c in range(w)]
            at = _place(rng, occupied, cells)
            if at is None:
                continue
            grid[at[0]: at[0] + h, at[1]: at[1] + w] = sprite.reshape(h, w)
            occupied[at[0]: at[0] + h, at[1]: at[1] + w] = True
        grids.append(grid)
    return Instance("sprites", grids, {"background": bg})


@world("small")
def _small(rng: random.Random, n: int, hints: dict) -> Instance:
    """Small whole grids (2-5 a side), noise over 2-4 colours: the picture a scale, tile or mirror works on."""
    grids = []
    for _ in range(n):
        step = hints.get("multiple_of", 1)
        shape = tuple(max(step, rng.randint(2, hints.get("max_side", 5)) // step * step) for _ in range(2))
        grids.append(_noise(rng, shape, rng.sample(range(10), rng.randint(2, 4))))
    return Instance("small", grids, {})


@world("panels")
def _panels(rng: random.Random, n: int, hints: dict) -> Instance:
    """A grid cut into equal panels by full lines of one colour; sparse cells of other colours in each panel."""
    sep = rng.randrange(1, 10)
    bg = 0 if sep else 1
    palette = [c for c in range(10) if c not in (sep, bg)]
    colors = rng.sample(palette, rng.randint(1, 3))
    layout = hints.get("layout") or rng.choice(((1, 2), (2, 1), (1, 3), (3, 1), (2, 2), (1, 4)))
    grids = []
    ph, pw = rng.randint(3, 5), rng.randint(3, 5)
    for _ in range(n):
        if not hints.get("same_panel_size"):
            ph, pw = rng.randint(3, 5), rng.randint(3, 5)
        rows, cols = layout
        grid = np.full((rows * ph + rows - 1, cols * pw + cols - 1), sep, dtype=np.int64)
        for i in range(rows):
            for j in range(cols):
                panel = np.full((ph, pw), bg, dtype=np.int64)
                density = rng.random() * 0.6 + 0.1
                for r in range(ph):
                    for c in range(pw):
                        if rng.random() < density:
                            panel[r, c] = rng.choice(colors)
                grid[i * (ph + 1): i * (ph + 1) + ph, j * (pw + 1): j * (pw + 1) + pw] = panel
        grids.append(grid)
    return Instance("panels", grids, {"separator": sep, "background": bg, "colors": colors, "layout": layout})


def _masked(rng: random.Random, grid: np.ndarray, unknown: int) -> np.ndarray:
    out = grid.copy()
    rows, cols = grid.shape
    for _ in range(rng.randint(1, 2)):
        h, w = rng.randint(1, max(1, rows // 3)), rng.randint(1, max(1, cols // 3))
        top, left = rng.randrange(rows - h + 1), rng.randrange(cols - w + 1)
        out[top: top + h, left: left + w] = unknown
    return out


@world("symmetric")
def _symmetric(rng: random.Random, n: int, hints: dict) -> Instance:
    """A picture mirror-symmetric left-right, up-down or both, with one or two boxes masked by one colour."""
    unknown = rng.randrange(10)
    palette = [c for c in range(10) if c != unknown]
    axes = hints.get("axes") or rng.choice(("lr", "ud", "both"))
    grids, full = [], []
    for _ in range(n):
        h, w = rng.randint(3, 7), rng.randint(3, 7)
        quarter = _noise(rng, (h, w), rng.sample(palette, rng.randint(2, 4)))
        if axes in ("lr", "both"):
            quarter = np.concatenate([quarter, quarter[:, ::-1][:, rng.randint(0, 1):]], axis=1)
        if axes in ("ud", "both"):
            quarter = np.concatenate([quarter, quarter[::-1][rng.randint(0, 1):]], axis=0)
        full.append(quarter)
        grids.append(_masked(rng, quarter, unknown))
    return Instance("symmetric", grids, {"unknown": unknown, "axes": axes, "complete": full})


@world("periodic")
def _periodic(rng: random.Random, n: int, hints: dict) -> Instance:
    """A tiling of a small motif (periods 1-4 each way), with one or two boxes masked by one colour."""
    unknown = rng.randrange(10)
    palette = [c for c in range(10) if c != unknown]
    grids, full = [], []
    for _ in range(n):
        p, q = rng.randint(1, 4), rng.randint(2, 4)
        motif = _noise(rng, (p, q), rng.sample(palette, rng.randint(2, 4)))
        rows, cols = rng.randint(max(6, 2 * p), 14), rng.randint(max(6, 2 * q), 14)
        pattern = np.tile(motif, (rows // p + 1, cols // q + 1))[:rows, :cols]
        full.append(pattern)
        grids.append(_masked(rng, pattern, unknown))
    return Instance("periodic", grids, {"unknown": unknown, "complete": full})


@world("noise")
def _noise_world(rng: random.Random, n: int, hints: dict) -> Instance:
    """A dominant background sprinkled with cells of 1-3 other colours (today's noisy grids, but sparse)."""
    bg = rng.randrange(10)
    colors = rng.sample([c for c in range(10) if c != bg], rng.randint(hints.get("min_colors", 1), 3))
    # "skew": colours drawn with weights 1, 3, 9 so that their counts rarely tie
    weights = [3 ** k for k in range(len(colors))] if hints.get("skew") else None
    grids = []
    for _ in range(n):
        if hints.get("vary_colors"):
            colors = rng.sample([c for c in range(10) if c != bg], len(colors))
        shape = _side(rng, hints, 5, 14)
        grid = np.full(shape, bg, dtype=np.int64)
        density = rng.random() * 0.25 + 0.05
        for r in range(shape[0]):
            for c in range(shape[1]):
                if rng.random() < density:
                    grid[r, c] = rng.choices(colors, weights)[0] if weights else rng.choice(colors)
        grids.append(grid)
    return Instance("noise", grids, {"background": bg, "colors": colors})


@world("drawn")
def _drawn(rng: random.Random, n: int, hints: dict) -> Instance:
    """Today's one-colour background with a few lines and filled rectangles drawn on it."""
    bg = rng.randrange(10)
    colors = rng.sample([c for c in range(10) if c != bg], rng.randint(1, 3))
    grids = []
    for _ in range(n):
        shape = _side(rng, hints, 6, 14)
        grid = np.full(shape, bg, dtype=np.int64)
        for _ in range(rng.randint(1, 4)):
            r1, r2 = sorted(rng.randrange(shape[0]) for _ in range(2))
            c1, c2 = sorted(rng.randrange(shape[1]) for _ in range(2))
            if rng.random() < 0.5:  # a line: collapse one side
                if rng.random() < 0.5:
                    r2 = r1
                else:
                    c2 = c1
            grid[r1: r2 + 1, c1: c2 + 1] = rng.choice(colors)
        grids.append(grid)
    return Instance("drawn", grids, {"background": bg, "colors": colors})


@world("lattice")
def _lattice(rng: random.Random, n: int, hints: dict) -> Instance:
    """A grid cut into equal cells by full lines of one colour, most cells holding one small one-colour shape."""
    sep = rng.randrange(10)
    bg = rng.choice([c for c in range(10) if c != sep])
    colors = rng.sample([c for c in range(10) if c not in (sep, bg)], rng.randint(1, 3))
    rows, cols = hints.get("layout") or (rng.randint(1, 3), rng.randint(2, 3))
    grids = []
    for _ in range(n):
        ph, pw = rng.randint(3, 4), rng.randint(3, 4)
        grid = np.full((rows * ph + rows - 1, cols * pw + cols - 1), sep, dtype=np.int64)
        for i in range(rows):
            for j in range(cols):
                panel = np.full((ph, pw), bg, dtype=np.int64)
                if rng.random() < 0.8:
                    cells = random_shape(rng, rng.choice(("blob", "rect", "line")), rng.randint(1, ph), rng.randint(1, pw))
                    top = rng.randrange(ph - max(r for r, _ in cells))
                    left = rng.randrange(pw - max(c for _, c in cells))
                    shape_color = rng.choice(colors)
                    for r, c in cells:
                        panel[top + r, left + c] = shape_color
                grid[i * (ph + 1): i * (ph + 1) + ph, j * (pw + 1): j * (pw + 1) + pw] = panel
        grids.append(grid)
    return Instance("lattice", grids, {"separator": sep, "background": bg, "colors": colors})


@world("blocks")
def _blocks(rng: random.Random, n: int, hints: dict) -> Instance:
    """A small picture scaled up by a factor (each cell a k x k block), with a few noise cells in some blocks."""
    factor = hints.get("factor") or rng.randint(2, 4)
    noise = rng.randrange(10)
    grids = []
    for _ in range(n):
        small = _noise(rng, (rng.randint(2, max(2, 12 // factor)), rng.randint(2, max(2, 12 // factor))),
                       rng.sample([c for c in range(10) if c != noise], rng.randint(2, 3)))
        grid = np.kron(small, np.ones((factor, factor), dtype=np.int64))
        # fewer than half of a block's cells, so each block keeps its colour as the most common one
        for _ in range(rng.randint(0, small.size)):
            r, c = rng.randrange(grid.shape[0]), rng.randrange(grid.shape[1])
            grid[r, c] = noise
        grids.append(grid)
    return Instance("blocks", grids, {"factor": factor, "noise": noise})
