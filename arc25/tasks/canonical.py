"""Canonical programs: one program per task, chosen without touching the grids or the random stream.

A task's outputs are reproduced by many programs of the same length: a line's ends in either order, a flood
fill from any cell of its region, a full-row ``draw_line`` that is a ``draw_horizontal_line``, draws that
commute in any order, a line on a noisy grid that may or may not run over cells already of its colour. A model
trained on one of them at random learns a blur of them. ``canonicalize`` maps a program to one representative,
a function of what the draws *do* to the grids rather than of how they were sampled:

1. **Each draw by its effect** (``canonical_draw``): the draw is replaced by the smallest draw, by ``_draw_key``,
   that turns every grid at that step into exactly the same grid, so the grids every later draw sees, and the
   outputs, cannot change. Rules, each a consequence of that key:
   - function preference ``draw_pixel < draw_horizontal_line < draw_vertical_line < draw_line <
     draw_rectangle < flood_fill``: the fewest coordinates to read, and flood_fill (the only draw whose cells
     depend on the grid) last. So a 1-cell line or rectangle is a pixel; a line or one-row rectangle covering
     a whole row of every input (or the row but for cells already of its colour) is a horizontal line; a
     one-column rectangle is a vertical ``draw_line`` segment; a fill whose region is a cell, a row, a segment
     or a box is that draw. Only the generator's own functions are candidates.
   - within a function, the fewest painted cells: a line or rectangle is cut to the changed cells' extent (on a
     noisy grid it does not run over cells that already had its colour), so it can be read off the diff;
   - line endpoints in row-major order, rectangle corners top-left then bottom-right;
   - flood_fill from the first row-major cell of its region that reproduces it on every input and still shows
     its colour in every output (else the first cell of its region), with connectivity 4 (argument omitted)
     wherever 4 and 8 fill the same cells.
2. **Draws in one order** (``_reorder``): the smallest order by the draws' sort key among all orders that give
   the same outputs (commuting draws sorted, draws whose overlap a later draw hides too), found by a pruned
   depth-first search; past a small budget, the smallest topological order of pairwise conflicts
   (``_constraint_order``). Replayed: an order that changed an output is never kept. The key (``ORDERS``) is
   ``name``, ``(function name, args)``, or ``position``: fills last, then the draw's first cell in row-major
   order (a line's first end, a rectangle's top-left corner, a horizontal line's row at column 0, a vertical
   line's column at row 0), then ``(function name, args)``, so commuting draws come in the order the grid
   shows them, top to bottom.
3. Steps 1-2 repeat until nothing changes (reordering changes what each draw paints over, so step 1 may
   shorten a draw, which may free another order); a few rounds at most. Before them, one round orders the
   program with fills kept as fills (and a whole-grid paint of a one-colour grid written as the fill it is), so
   a background fill ends up last, around the shapes, however the draws came: otherwise a fill moved first would
   turn into a grid-sized rectangle and the two forms would both be "canonical".
4. **No dead draws**: a substitution with the same effect at its step can still make *another* draw removable
   (a fill that became a line no longer depends on the draw that shaped its region; a full-row line now paints
   over a pixel drawn before it). Then the program is redone keeping fills as fills, and failing that only the
   arguments are put in order: the number of draws, hence the gate's decisions and the stream, never change.

What is left ambiguous, measured by ``scripts/report_ambiguity.py``: programs that need a fill re-seeded to
move (a fill's seed depends on where it stands), and the fallbacks of rule 4.

Nothing here touches a random generator: canonicalisation changes programs only, never grids.
"""

from __future__ import annotations

import heapq

import numpy as np
from scipy import ndimage as _ndimage

from arc25 import dsl

Op = tuple[str, tuple]  # (DSL function name, positional args after img)

__all__ = ["FUNCTION_RANK", "ORDERS", "apply_op", "apply_ops", "canonical_draw", "canonicalize", "draw_color", "fill",
           "normalize_args", "order_key"]

FUNCTION_RANK = {
    "draw_pixel": 0,
    "draw_horizontal_line": 1,
    "draw_vertical_line": 2,
    "draw_line": 3,
    "draw_rectangle": 4,
    "flood_fill": 5,
}
MAX_ROUNDS = 4
# How commuting draws are ordered (module docstring, step 2).
ORDERS = ("name", "position")
_DSL = {name: getattr(dsl, name) for name in FUNCTION_RANK}


def apply_ops(ops: list[Op], grid: np.ndarray) -> np.ndarray:
    """Run ``ops`` on ``grid`` in place and return it."""
    for op in ops:
        apply_op(op, grid)
    return grid


def draw_color(op: Op) -> int:
    name, args = op
    return args[1] if name == "flood_fill" else args[-1]


def _connectivity(op: Op) -> int:
    return op[1][2] if op[0] == "flood_fill" and len(op[1]) == 3 else 4


def _draw_key(op: Op) -> tuple:
    """Preference among draws with the same effect: function rank, then painted cells, then args."""
    return FUNCTION_RANK[op[0]], op[1]


def _first_cell(op: Op) -> tuple[int, int]:
    """The first cell, row-major, a draw with normalized arguments paints (a fill: its seed)."""
    name, args = op
    if name == "draw_horizontal_line":
        return args[0], 0
    if name == "draw_vertical_line":
        return 0, args[0]
    if name == "draw_line":
        return min(args[0], args[1])
    return args[0]


def order_key(op: Op, order: str = "name") -> tuple:
    """The sort key of a draw among draws that commute (module docstring, step 2)."""
    if order == "name":
        return op
    return op[0] == "flood_fill", _first_cell(op), op


def normalize_args(op: Op) -> Op:
    """Argument order that never changes what is painted: rectangle corners top-left/bottom-right, a straight
    line's ends in row-major order (skimage's Bresenham is only symmetric for straight lines)."""
    name, args = op
    if name == "draw_rectangle":
        (r1, c1), (r2, c2), color = args
        return name, ((min(r1, r2), min(c1, c2)), (max(r1, r2), max(c1, c2)), color)
    if name == "draw_line":
        p1, p2, color = args
        dr, dc = abs(p1[0] - p2[0]), abs(p1[1] - p2[1])
        if (dr == 0 or dc == 0 or dr == dc) and p2 < p1:
            return name, (p2, p1, color)
    if name == "flood_fill" and len(args) == 3 and args[2] == 4:
        return name, args[:2]
    return op


def _segment_cells(p1, p2) -> tuple[np.ndarray, np.ndarray]:
    """Cells of the straight segment p1-p2 (horizontal, vertical or diagonal)."""
    n = max(abs(p2[0] - p1[0]), abs(p2[1] - p1[1])) + 1
    steps = np.arange(n)
    return p1[0] + np.sign(p2[0] - p1[0]) * steps, p1[1] + np.sign(p2[1] - p1[1]) * steps


def _paint_mask(op: Op, shape: tuple[int, int]) -> np.ndarray:
    """The cells ``op`` paints on a grid of ``shape`` (geometric draws only), without the DSL's checks."""
    name, args = op
    mask = np.zeros(shape, dtype=bool)
    if name == "draw_pixel":
        (r, c), _ = args
        if r < shape[0] and c < shape[1]:
            mask[r, c] = True
    elif name == "draw_horizontal_line":
        if args[0] < shape[0]:
            mask[args[0], :] = True
    elif name == "draw_vertical_line":
        if args[0] < shape[1]:
            mask[:, args[0]] = True
    elif name == "draw_rectangle" and min(args[0] + args[1]) >= 0:
        (r1, c1), (r2, c2), _ = args
        mask[min(r1, r2) : max(r1, r2) + 1, min(c1, c2) : max(c1, c2) + 1] = True
    else:
        canvas = np.zeros(shape, dtype=np.int64)
        _DSL[name](canvas, *args[:-1], 1)
        return canvas.astype(bool)
    return mask


def _flood_seeds(befores, musts, color: int, connectivity: int, rows: int, cols: int, known: bool):
    """Mask (smallest grid) of seeds from which a fill reproduces every input's change, or None.

    ``known``: the draw itself is a fill with this connectivity, so each changed region is one component and
    any of its cells is a seed; otherwise one fill per changed input checks that its region is one component
    at this connectivity (then any of its cells seeds it, and no other cell does).
    """
    seeds = np.ones((rows, cols), dtype=bool)
    for before, must in zip(befores, musts):
        if must.any():
            if not known:
                r, c = np.argwhere(must)[0]
                if not np.array_equal(fill(before.copy(), (int(r), int(c)), color, connectivity) != before, must):
                    return None
            seeds &= must[:rows, :cols]
        else:  # the fill must be a no-op here: its seed already has the colour
            seeds &= before[:rows, :cols] == color
    return seeds if seeds.any() else None


def canonical_draw(op: Op, befores: list[np.ndarray], afters: list[np.ndarray], keep_fills: bool = False,
                   functions: tuple[str, ...] = tuple(FUNCTION_RANK), finals: list[np.ndarray] | None = None) -> Op:
    """The smallest draw (by ``_draw_key``) turning every ``befores[k]`` into ``afters[k]``; ``op`` does.

    Arguments stay on the smallest grid, as the generator's do. A draw is valid on grid k exactly when it paints
    every changed cell (``must``) and nothing that does not end up in its colour (``allowed``); for the
    geometric draws that is read off masks, with no replay. ``keep_fills``: a flood fill stays a flood fill.
    Only ``functions`` are candidates (a generator restricted to some functions stays within them).
    ``finals``: the program's outputs; a fill's seed is then the first cell of its region that still shows the
    fill's colour in every output, if there is one (a seed that later draws leave alone, so it stays valid
    wherever the fill moves among them, and can be read off the output), else the first cell of its region.
    """
    color = draw_color(op)
    rows = min(g.shape[0] for g in befores)
    cols = min(g.shape[1] for g in befores)
    musts = [b != a for b, a in zip(befores, afters)]
    found = [m.nonzero() for m in musts]
    cr = np.concatenate([f[0] for f in found])
    if not len(cr):  # a no-op draw (the generator prunes these): nothing to choose between
        return normalize_args(op)
    cc = np.concatenate([f[1] for f in found])
    top, bottom, left, right = int(cr.min()), int(cr.max()), int(cc.min()), int(cc.max())
    geometric = not (keep_fills and op[0] == "flood_fill")
    # Validity reads only the cells a candidate paints: each must end up in the draw's colour on every grid.
    inside = geometric and bottom < rows and right < cols
    if (inside and "draw_pixel" in functions and top == bottom and left == right
            and all(a[top, left] == color for a in afters)):
        return "draw_pixel", ((top, left), color)
    if (geometric and "draw_horizontal_line" in functions and top == bottom and top < rows
            and all((a[top, :] == color).all() for a in afters)):
        return "draw_horizontal_line", (top, color)
    if (geometric and "draw_vertical_line" in functions and left == right and left < cols
            and all((a[:, left] == color).all() for a in afters)):
        return "draw_vertical_line", (left, color)
    if inside:
        box_ok = all((a[top : bottom + 1, left : right + 1] == color).all() for a in afters)
        line_ok = "draw_line" in functions
        if top == bottom or left == right:
            if box_ok and line_ok:
                return "draw_line", ((top, left), (bottom, right), color)
        elif line_ok and bottom - top == right - left:
            diff, total = cr - cc, cr + cc
            if (diff == diff[0]).all():
                ends = (top, left), (bottom, right)
            elif (total == total[0]).all():
                ends = (top, right), (bottom, left)
            else:
                ends = None
            if ends is not None:
                rr, ccs = _segment_cells(*ends)
                if all((a[rr, ccs] == color).all() for a in afters):
                    return "draw_line", (ends[0], ends[1], color)
        if box_ok and "draw_rectangle" in functions:
            return "draw_rectangle", ((top, left), (bottom, right), color)
    # Straight geometric draws found themselves above (cut to the changed cells); what reaches here is a fill,
    # or a draw outside that set (a non-straight Bresenham line), which becomes the fill it equals if any.
    own = _connectivity(op) if op[0] == "flood_fill" else None
    for connectivity in (4, 8):
        if own is None and "flood_fill" not in functions:
            break
        seeds = _flood_seeds(befores, musts, color, connectivity, rows, cols, known=connectivity == own)
        if seeds is not None:
            if finals is not None:
                shown = seeds.copy()
                for final in finals:
                    shown &= final[:rows, :cols] == color
                seeds = shown if shown.any() else seeds
            r, c = np.argwhere(seeds)[0]
            seed = (int(r), int(c))
            return "flood_fill", (seed, color) if connectivity == 4 else (seed, color, 8)
    return normalize_args(op)  # e.g. a non-straight Bresenham line: no smaller equivalent known


def fill(grid: np.ndarray, point, color: int, connectivity: int = 4) -> np.ndarray:
    """``dsl.flood_fill`` through scipy's labelling: the same cells, an order of magnitude faster on small grids."""
    r, c = point
    if 0 <= r < grid.shape[0] and 0 <= c < grid.shape[1] and grid[r, c] != color:
        structure = _CROSS if connectivity == 4 else _SQUARE
        labels, _ = _ndimage.label(grid == grid[r, c], structure=structure)
        grid[labels == labels[r, c]] = color
    return grid


_CROSS = _ndimage.generate_binary_structure(2, 1)
_SQUARE = _ndimage.generate_binary_structure(2, 2)


def apply_op(op: Op, grid: np.ndarray) -> np.ndarray:
    """Run one trusted draw in place: what the DSL does, without its argument checks, fills through ``fill``."""
    name, args = op
    if name == "draw_pixel":
        (r, c), color = args
        if 0 <= r < grid.shape[0] and 0 <= c < grid.shape[1]:
            grid[r, c] = color
    elif name == "draw_horizontal_line":
        if 0 <= args[0] < grid.shape[0]:
            grid[args[0], :] = args[1]
    elif name == "draw_vertical_line":
        if 0 <= args[0] < grid.shape[1]:
            grid[:, args[0]] = args[1]
    elif name == "draw_rectangle":
        (r1, c1), (r2, c2), color = args
        top, bottom = max(min(r1, r2), 0), min(max(r1, r2), grid.shape[0] - 1)
        left, right = max(min(c1, c2), 0), min(max(c1, c2), grid.shape[1] - 1)
        if top <= bottom and left <= right:
            grid[top : bottom + 1, left : right + 1] = color
    elif name == "flood_fill":
        fill(grid, *args)
    else:
        (r1, c1), (r2, c2), color = args
        dr, dc = abs(r2 - r1), abs(c2 - c1)
        if dr == 0 or dc == 0 or dr == dc:  # straight: the cells are exact, no Bresenham needed
            rr, cc = _segment_cells((r1, c1), (r2, c2))
            inside = (rr >= 0) & (rr < grid.shape[0]) & (cc >= 0) & (cc < grid.shape[1])
            grid[rr[inside], cc[inside]] = color
        else:
            _DSL[name](grid, *args)
    return grid


def _states(ops: list[Op], inputs: list[np.ndarray]) -> list[list[np.ndarray]]:
    """states[i][k] = input k after ops[:i]."""
    states = [[g.copy() for g in inputs]]
    for op in ops:
        states.append([apply_op(op, g.copy()) for g in states[-1]])
    return states


def _has_dead_draw(ops: list[Op], states) -> bool:
    """Whether leaving some draw out keeps every output (a replay of the suffix from the stored states)."""
    outputs = states[-1]
    for i in range(len(ops)):
        for before, output in zip(states[i], outputs):
            grid = before.copy()
            for op in ops[i + 1 :]:
                apply_op(op, grid)
            if not np.array_equal(grid, output):
                break
        else:
            return True
    return False


def _canonical_draws(ops: list[Op], states, keep_fills: bool = False,
                     functions: tuple[str, ...] = tuple(FUNCTION_RANK)) -> list[Op]:
    return [canonical_draw(op, states[i], states[i + 1], keep_fills, functions, states[-1])
            for i, op in enumerate(ops)]


def _footprints(ops: list[Op], states) -> list[list[np.ndarray]]:
    """Per draw and input, the cells it paints; for a flood fill, its region grown by one cell (8 ways)."""
    prints = []
    for i, (name, args) in enumerate(ops):
        per_input = []
        for before, after in zip(states[i], states[i + 1]):
            if name == "flood_fill":
                region = before != after
                grown = region.copy()
                grown[1:] |= region[:-1]
                grown[:-1] |= region[1:]
                grown[:, 1:] |= grown[:, :-1].copy()
                grown[:, :-1] |= grown[:, 1:].copy()
                per_input.append(grown)
            else:
                per_input.append(_paint_mask((name, args), before.shape))
        prints.append(per_input)
    return prints


def _reorder(ops: list[Op], states, inputs, order: str = "name") -> list[Op]:
    """The smallest order by ``order_key`` that gives the same outputs.

    A depth-first search in key order, so the first complete order that reproduces the outputs is the smallest.
    A prefix is dropped as soon as a cell that no remaining draw can set right differs from the output. Past ``SEARCH_BUDGET`` draws applied it settles for the constraint order
    (``_constraint_order``), which is valid by construction but can depend on the order it started from.
    """
    n = len(ops)
    keys = [order_key(op, order) for op in ops]
    if all(keys[i] <= keys[i + 1] for i in range(n - 1)):
        return ops  # already the smallest order of these draws
    outputs = states[-1]
    if not any(op[0] == "flood_fill" for op in ops):
        return [ops[i] for i in _smallest_geometric_order(ops, outputs, keys)]
    keyed = sorted(range(n), key=lambda i: (keys[i], i))
    # Per draw and input, the cells it can still set right: its cells, or for a fill those whose output is its
    # colour (a fill only ever paints its colour).
    masks = [[o == op[1][1] for o in outputs] if op[0] == "flood_fill" else [_paint_mask(op, o.shape) for o in outputs]
             for op in ops]
    budget = [SEARCH_BUDGET]

    def search(prefix: list[int], grids: list[np.ndarray]):
        left = [i for i in keyed if i not in prefix]
        if not left:
            return list(prefix) if all(np.array_equal(g, o) for g, o in zip(grids, outputs)) else None
        # A cell no remaining draw can still set right must be right already.
        for k, (g, o) in enumerate(zip(grids, outputs)):
            wrong = g != o
            for i in left:
                wrong &= ~masks[i][k]
            if wrong.any():
                return None
        for i in left:
            if budget[0] <= 0:
                return None
            budget[0] -= 1
            found = search(prefix + [i], [apply_op(ops[i], g.copy()) for g in grids])
            if found is not None:
                return found
        return None

    found = search([], [g.copy() for g in states[0]])
    if found is None:
        return _constraint_order(ops, states, keys)
    return [ops[i] for i in found]


SEARCH_BUDGET = 24


def _smallest_geometric_order(ops: list[Op], outputs, keys: list[tuple]) -> list[int]:
    """``_reorder`` for programs without fills, from masks alone (no replay).

    With geometric draws an order gives the outputs exactly when every cell's last painter has the cell's output
    colour. Built from the end, a draw can go before those already placed when each of its wrong-coloured cells
    (``bad``) is painted by one of them; placing draws only ever helps the others, so placing any placeable one
    finds an order whenever there is one (``completable``). Going forwards, the smallest draw whose wrong cells
    the rest will paint, and whose removal leaves the rest completable, comes next: no backtracking.
    """
    out = np.concatenate([o.ravel() for o in outputs])
    paints = [np.concatenate([_paint_mask(op, o.shape).ravel() for o in outputs]) for op in ops]
    bad = [p & (out != draw_color(op)) for p, op in zip(paints, ops)]

    def completable(rest: list[int]) -> bool:
        claimed = np.zeros(out.shape, dtype=bool)
        rest = list(rest)
        while rest:
            for j in rest:
                if not (bad[j] & ~claimed).any():
                    claimed |= paints[j]
                    rest.remove(j)
                    break
            else:
                return False
        return True

    order: list[int] = []
    remaining = sorted(range(len(ops)), key=lambda i: (keys[i], i))
    while remaining:
        for d in remaining:
            others = [j for j in remaining if j != d]
            cover = np.zeros(out.shape, dtype=bool)
            for j in others:
                cover |= paints[j]
            if not (bad[d] & ~cover).any() and completable(others):
                order.append(d)
                remaining = others
                break
        else:  # cannot happen for a program that gives ``outputs``; keep what is left as it came
            return order + sorted(remaining)
    return order


def _constraint_order(ops: list[Op], states, keys: list[tuple]) -> list[Op]:
    """Smallest order by ``keys`` keeping every conflicting pair's order: both paint a
    shared cell in different colours, or one is a flood fill whose region (grown by one cell) meets the other's
    cells. The caller replays it to make sure."""
    n = len(ops)
    prints = _footprints(ops, states)
    colors = [draw_color(op) for op in ops]
    fills = [op[0] == "flood_fill" for op in ops]
    preds = [0] * n
    succs: list[list[int]] = [[] for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            if colors[i] == colors[j] and not (fills[i] or fills[j]):
                continue  # same colour, both geometric: the shared cells end the same in either order
            if any((a & b).any() for a, b in zip(prints[i], prints[j])):
                succs[i].append(j)
                preds[j] += 1
    heap = [(keys[i], i) for i in range(n) if preds[i] == 0]
    heapq.heapify(heap)
    order = []
    while heap:
        _, i = heapq.heappop(heap)
        order.append(i)
        for j in succs[i]:
            preds[j] -= 1
            if preds[j] == 0:
                heapq.heappush(heap, (keys[j], j))
    return [ops[i] for i in order]


def canonicalize(ops: list[Op], inputs: list[np.ndarray], states: list[list[np.ndarray]] | None = None,
                 functions: tuple[str, ...] = tuple(FUNCTION_RANK), order: str = "name") -> list[Op]:
    """The canonical program with the same outputs on ``inputs`` (and as many draws) as ``ops``.

    Uses no randomness; ``inputs`` are not modified. ``states`` (``states[i][k]`` = input k after ``ops[:i]``,
    as the gate's pruning computes them) saves replaying the program. ``ops`` should have no dead draw (the
    gate prunes first); the result then has none either. Substituting a draw by one with the same effect *at
    its step* can still kill another draw (a fill that turned into a line no longer depends on the draw that
    shaped its region; a full-row line now paints over a pixel drawn before it), so when that happens the
    canonicaliser falls back: first it keeps flood fills as fills, then it only puts arguments in order.
    Draws are only rewritten into ``functions`` (the generator's own set); ``order`` is one of ``ORDERS``.
    """
    if order not in ORDERS:
        raise ValueError(f"draw order {order!r} is not one of {', '.join(ORDERS)}")
    ops = list(ops)
    states = _states(ops, inputs) if states is None else states
    if len(ops) == 1:  # one live draw stays live: it changes the grids
        return _canonical_draws(ops, states, functions=functions)
    plain = [normalize_args(op) for op in ops]
    for keep_fills in (False, True):
        result, result_states = _rounds(ops, inputs, states, keep_fills, functions, order)
        if result == plain or not _has_dead_draw(result, result_states):
            return result
    return plain


def _rounds(ops: list[Op], inputs, states, keep_fills: bool, functions: tuple[str, ...], order: str):
    """Steps 1-2 of the module docstring until nothing changes; returns the program and its states.

    A first round keeps fills as fills, and writes a paint of a whole one-colour grid as the fill it equals,
    before ordering: a fill can then move to the end, where it is a fill of what the other draws left (the
    background around them) rather than, at the front, a rectangle the size of the grid that they paint over.
    Both programs are valid; this picks one, whichever order the draws came in.
    """
    outputs = states[-1]
    if "flood_fill" in functions and any((op[0] == "flood_fill" and i < len(ops) - 1) or _paints_whole_grid(op, inputs)
                                         for i, op in enumerate(ops)):
        movable = [_movable_draw(op, states[i], states[i + 1], functions, states[-1]) for i, op in enumerate(ops)]
        ops, states = _ordered(movable, states, inputs, outputs, order)
    searched = None  # the program whose order the last search chose: already the smallest valid one
    for _ in range(MAX_ROUNDS):
        ops = _canonical_draws(ops, states, keep_fills, functions)  # same effect per draw: states unchanged
        if ops == searched:
            return ops, states
        reordered, new_states = _ordered(ops, states, inputs, outputs, order)
        if reordered == ops:
            return ops, states
        ops, states = reordered, new_states
        searched = reordered
    return _canonical_draws(ops, states, keep_fills, functions), states


def _ordered(ops: list[Op], states, inputs, outputs, order: str):
    """``_reorder`` with its states, replayed to make sure; the same program if the replay disagrees."""
    reordered = _reorder(ops, states, inputs, order)
    if reordered == ops:
        return ops, states
    new_states = _states(reordered, inputs)
    if not all(np.array_equal(a, b) for a, b in zip(new_states[-1], outputs)):
        return ops, states  # a conflict the constraints missed: keep this order
    return reordered, new_states


def _paints_whole_grid(op: Op, inputs) -> bool:
    if op[0] != "draw_rectangle":
        return False
    (r1, c1), (r2, c2), _ = op[1]
    return all(min(r1, r2) <= 0 and min(c1, c2) <= 0 and max(r1, r2) >= g.shape[0] - 1
               and max(c1, c2) >= g.shape[1] - 1 for g in inputs)


def _movable_draw(op: Op, befores, afters, functions, finals) -> Op:
    """A fill stays a fill (its seed and connectivity canonical); a draw that repaints every cell of one-colour
    grids becomes that fill (seeded as ``canonical_draw`` seeds fills); anything else is canonical as usual."""
    if op[0] != "flood_fill" and all((b != a).all() for b, a in zip(befores, afters)):
        if all((b == b[0, 0]).all() for b in befores):
            color = draw_color(op)
            rows = min(g.shape[0] for g in befores)
            cols = min(g.shape[1] for g in befores)
            shown = np.logical_and.reduce([f[:rows, :cols] == color for f in finals])
            seed = tuple(int(v) for v in np.argwhere(shown)[0]) if shown.any() else (0, 0)
            return "flood_fill", (seed, color)
    return canonical_draw(op, befores, afters, True, functions, finals)


# --- equivalent programs (for measuring ambiguity: scripts/report_ambiguity.py and the tests) ---------------


def equivalent_draws(befores: list[np.ndarray], afters: list[np.ndarray], color: int) -> list[Op]:
    """Every single draw (any function, arguments on the smallest grid) turning each ``befores[k]`` into
    ``afters[k]``: distinct programs, so a line's two endpoint orders and a rectangle's corner pairs count
    apart (a flood fill's connectivity 4 is written one way, without the argument)."""
    from skimage.draw import line as _line

    rows = min(g.shape[0] for g in befores)
    cols = min(g.shape[1] for g in befores)
    musts = [b != a for b, a in zip(befores, afters)]
    cells = np.concatenate([np.argwhere(m) for m in musts])
    if not len(cells):
        return []
    top, left = cells.min(0)
    bottom, right = cells.max(0)
    found: list[Op] = []
    if top == bottom and all((a[top, :] == color).all() for a in afters) and top < rows:
        found.append(("draw_horizontal_line", (int(top), color)))
    if left == right and all((a[:, left] == color).all() for a in afters) and left < cols:
        found.append(("draw_vertical_line", (int(left), color)))
    if bottom < rows and right < cols:
        allowed = np.logical_and.reduce([a[:rows, :cols] == color for a in afters])
        must_union = np.logical_or.reduce([m[:rows, :cols] for m in musts])
        n_must = int(must_union.sum())
        if top == bottom and left == right:
            found.append(("draw_pixel", ((int(top), int(left)), color)))
        # Rectangles: every box holding the changed cells' bounding box and only allowed cells.
        bad = np.pad(np.cumsum(np.cumsum(~allowed, 0), 1), ((1, 0), (1, 0)))

        def box_ok(t, b, l, r):
            return bad[b + 1, r + 1] - bad[t, r + 1] - bad[b + 1, l] + bad[t, l] == 0

        for t in range(top, -1, -1):
            if not box_ok(t, bottom, left, right):
                break
            for b in range(bottom, rows):
                if not box_ok(t, b, left, right):
                    break
                for l in range(left, -1, -1):
                    if not box_ok(t, b, l, right):
                        break
                    for r in range(right, cols):
                        if not box_ok(t, b, l, r):
                            break
                        corners = {((t, l), (b, r)), ((b, r), (t, l)), ((t, r), (b, l)), ((b, l), (t, r))}
                        found += [("draw_rectangle", (p1, p2, color)) for p1, p2 in sorted(corners)]
        # Lines: ordered endpoint pairs on allowed cells whose box spans the changed cells' box.
        ends = np.argwhere(allowed)
        r, c = ends[:, 0], ends[:, 1]
        ok = ((np.minimum(r[:, None], r[None]) <= top) & (np.maximum(r[:, None], r[None]) >= bottom)
              & (np.minimum(c[:, None], c[None]) <= left) & (np.maximum(c[:, None], c[None]) >= right))
        for i, j in zip(*np.nonzero(ok)):
            rr, cc = _line(int(r[i]), int(c[i]), int(r[j]), int(c[j]))
            if allowed[rr, cc].all() and must_union[rr, cc].sum() == n_must:
                found.append(("draw_line", ((int(r[i]), int(c[i])), (int(r[j]), int(c[j])), color)))
    for connectivity in (4, 8):
        seeds = _flood_seeds(befores, musts, color, connectivity, rows, cols, known=False)
        if seeds is not None:
            extra = () if connectivity == 4 else (8,)
            found += [("flood_fill", ((int(r), int(c)), color, *extra)) for r, c in np.argwhere(seeds)]
    return found


def valid_orders(ops: list[Op], inputs: list[np.ndarray], cap: int = 120) -> list[tuple[int, ...]]:
    """Permutations of ``ops`` (as index tuples, the identity first) that give the same outputs; at most ``cap``."""
    import itertools

    outputs = [apply_ops(ops, g.copy()) for g in inputs]
    orders = []
    for perm in itertools.permutations(range(len(ops))):
        if all(np.array_equal(apply_ops([ops[i] for i in perm], g.copy()), o) for g, o in zip(inputs, outputs)):
            orders.append(perm)
            if len(orders) >= cap:
                break
    return orders


def random_equivalent(ops: list[Op], inputs: list[np.ndarray], rng, substitute: float = 0.5) -> list[Op]:
    """A random program with the same outputs and length: a valid order of the draws, then each draw swapped,
    with probability ``substitute``, for a random draw with the same effect at its step (which covers endpoint
    orders, corner pairs, fill seeds and connectivity, and equivalent functions). ``rng``: a random.Random."""
    orders = valid_orders(ops, inputs, cap=24)
    program = [ops[i] for i in rng.choice(orders)]
    states = _states(program, inputs)
    out = []
    for i, op in enumerate(program):
        if rng.random() < substitute:
            options = equivalent_draws(states[i], states[i + 1], draw_color(op))
            if options:
                op = rng.choice(options)
        out.append(op)
    return out


def has_dead_draw(ops: list[Op], inputs: list[np.ndarray]) -> bool:
    """Whether some draw of ``ops`` can be left out without changing an output."""
    return _has_dead_draw(ops, _states(ops, inputs))
