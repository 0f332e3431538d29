"""Objects: connected groups of cells found in a grid, as immutable values, and what can be asked of them.

An ``Object`` is a value (cells and their colours), not a view of a grid: ``move`` and ``recolor`` return new
objects, and drawing one is an explicit ``draw_object``. Finding objects uses a small numpy labelling (row runs
joined by a union-find over the runs), not scipy: a sandbox worker imports the DSL and must stay small.
"""

from __future__ import annotations

import numpy as np

from arc25.dsl._checks import MAX_SIDE, check_grid, short
from arc25.dsl.draw import MAX_COORD, _check_color, _check_int

__all__ = [
    "Object",
    "find_objects",
    "object_from_mask",
    "move",
    "recolor",
    "move_until_contact",
    "touches",
    "same_shape",
    "holes",
    "outline",
]

_STEPS = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}
_NEIGHBOURS_4 = ((-1, 0), (0, -1), (0, 1), (1, 0))
_NEIGHBOURS_8 = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


class Object:
    """Immutable cells of a grid with their colours: cells row-major, one colour per cell."""

    __slots__ = ("_cells", "_colors")

    def __init__(self, cells: tuple[tuple[int, int], ...], colors: tuple[int, ...] | int) -> None:
        try:
            cells = [tuple(cell) for cell in cells]
        except TypeError:
            raise ValueError(f"cells must be a collection of (row, col) points, got {short(cells)}") from None
        if not cells:
            raise ValueError("cells must hold at least one (row, col) point, got none")
        if isinstance(colors, (int, np.integer)) and not isinstance(colors, (bool, np.bool_)):
            colors = [colors] * len(cells)
        try:
            colors = list(colors)
        except TypeError:
            raise ValueError(f"colors must be a colour 0-9 or one colour per cell, got {short(colors)}") from None
        if len(colors) != len(cells):
            raise ValueError(f"colors must hold one colour per cell ({len(cells)}), got {len(colors)}")
        pairs = {}
        for cell, color in zip(cells, colors):
            if len(cell) != 2:
                raise ValueError(f"each cell must be a (row, col) pair of integers, got {short(cell)}")
            point = (_check_int(cell[0], "cell row"), _check_int(cell[1], "cell col"))
            if point in pairs:
                raise ValueError(f"cells must be distinct, got {point} twice")
            pairs[point] = _check_color(color)
        ordered = sorted(pairs)
        rows, cols = [r for r, _ in ordered], [c for _, c in ordered]
        if max(rows) - min(rows) >= MAX_SIDE or max(cols) - min(cols) >= MAX_SIDE:
            raise ValueError(f"an object's cells must fit in a {MAX_SIDE}x{MAX_SIDE} box, got rows "
                             f"{min(rows)}-{max(rows)} and cols {min(cols)}-{max(cols)}")
        object.__setattr__(self, "_cells", tuple(ordered))
        object.__setattr__(self, "_colors", tuple(pairs[point] for point in ordered))

    @classmethod
    def _trusted(cls, cells: tuple, colors: tuple) -> Object:
        """An object from cells already row-major, distinct and in range (the DSL's own results): no checks."""
        obj = object.__new__(cls)
        object.__setattr__(obj, "_cells", cells)
        object.__setattr__(obj, "_colors", colors)
        return obj

    def __setattr__(self, name, value):
        raise AttributeError(f"Object is immutable: cannot set {name!r} (use move/recolor for a new object)")

    def __delattr__(self, name):
        raise AttributeError(f"Object is immutable: cannot delete {name!r}")

    def __reduce__(self):
        return (Object, (self._cells, self._colors))

    def __copy__(self) -> Object:
        return self

    def __deepcopy__(self, memo) -> Object:
        return self

    def __eq__(self, other) -> bool:
        if not isinstance(other, Object):
            return NotImplemented
        return self._cells == other._cells and self._colors == other._colors

    def __hash__(self) -> int:
        return hash((self._cells, self._colors))

    def __repr__(self) -> str:
        return f"Object(cells={self._cells!r}, colors={self._colors!r})"

    @property
    def cells(self) -> tuple[tuple[int, int], ...]:
        """The (row, col) cells, row-major."""
        return self._cells

    @property
    def colors(self) -> tuple[int, ...]:
        """One colour per cell, in the order of ``cells``."""
        return self._colors

    @property
    def size(self) -> int:
        """The number of cells."""
        return len(self._cells)

    @property
    def color(self) -> int:
        """The most common colour of the cells; ties go to the lower colour."""
        counts = [0] * 10
        for color in self._colors:
            counts[color] += 1
        return counts.index(max(counts))

    @property
    def top(self) -> int:
        """The first row."""
        return self._cells[0][0]

    @property
    def bottom(self) -> int:
        """The last row."""
        return self._cells[-1][0]

    @property
    def left(self) -> int:
        """The first column."""
        return min(col for _, col in self._cells)

    @property
    def right(self) -> int:
        """The last column."""
        return max(col for _, col in self._cells)

    @property
    def box(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """The bounding box: ((top, left), (bottom, right)), inclusive."""
        return (self.top, self.left), (self.bottom, self.right)

    @property
    def height(self) -> int:
        """The number of rows of the box."""
        return self.bottom - self.top + 1

    @property
    def width(self) -> int:
        """The number of columns of the box."""
        return self.right - self.left + 1

    @property
    def center(self) -> tuple[float, float]:
        """The centre of the box as (row, col) floats (halves for an even side)."""
        return (self.top + self.bottom) / 2, (self.left + self.right) / 2

    @property
    def shape(self) -> tuple[tuple[int, int], ...]:
        """The cells relative to the box's top-left corner, row-major (colours ignored)."""
        top, left = self.top, self.left
        return tuple((row - top, col - left) for row, col in self._cells)

    @property
    def is_rectangle(self) -> bool:
        """Whether the cells fill the whole box."""
        return self.size == self.height * self.width

    @property
    def is_square(self) -> bool:
        """Whether the cells fill a square box."""
        return self.is_rectangle and self.height == self.width

    @property
    def is_line(self) -> bool:
        """Whether the cells are one unbroken horizontal, vertical or diagonal line of at least two cells."""
        if self.size < 2:
            return False
        height, width = self.height, self.width
        if height == 1 or width == 1:
            return self.is_rectangle
        if height != width or self.size != height:
            return False
        shape = self.shape
        return all(row == col for row, col in shape) or all(row + col == width - 1 for row, col in shape)

    def sprite(self, background: int = 0) -> np.ndarray:
        """A new grid of the box's size with the object's cells in their colours and ``background`` elsewhere."""
        out = np.full((self.height, self.width), _check_color(background), dtype=np.int64)
        top, left = self.top, self.left
        for (row, col), color in zip(self._cells, self._colors):
            out[row - top, col - left] = color
        return out


def _check_object(obj, what: str = "obj") -> Object:
    if not isinstance(obj, Object):
        raise ValueError(f"{what} must be an Object (from find_objects or object_from_mask), got {short(obj)}")
    return obj


def _check_bool(value, what: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{what} must be True or False, got {short(value)}")
    return bool(value)


def _check_connectivity(connectivity) -> bool:
    """True for 8 (corners connect), False for 4."""
    if isinstance(connectivity, (bool, np.bool_)) or connectivity not in (4, 8):
        raise ValueError(f"connectivity must be 4 or 8, got {short(connectivity)}")
    return connectivity == 8


def _labels(img: np.ndarray, foreground: np.ndarray, diagonal: bool, same_color: bool) -> np.ndarray:
    """Number the connected groups of ``foreground`` cells 1, 2, ... (0 elsewhere), in no particular order.

    Horizontal runs are numbered first (one numpy pass); runs that touch across rows are then joined with a
    union-find over run numbers, so Python only loops over pairs of touching runs, not over cells."""

    def linked(a: tuple, b: tuple) -> np.ndarray:
        link = foreground[a] & foreground[b]
        return link & (img[a] == img[b]) if same_color else link

    everything = slice(None)
    starts = foreground.copy()
    starts[:, 1:] &= ~linked((everything, slice(1, None)), (everything, slice(None, -1)))
    runs = np.where(foreground, np.cumsum(starts).reshape(foreground.shape), 0)
    n_runs = int(runs.max())
    pairs = [((slice(None, -1), everything), (slice(1, None), everything))]
    if diagonal:
        pairs.append(((slice(None, -1), slice(None, -1)), (slice(1, None), slice(1, None))))
        pairs.append(((slice(None, -1), slice(1, None)), (slice(1, None), slice(None, -1))))
    keys = []
    for a, b in pairs:
        link = linked(a, b)
        keys.append(runs[a][link] * (n_runs + 1) + runs[b][link])
    parent = list(range(n_runs + 1))
    for key in np.unique(np.concatenate(keys)).tolist():
        x, y = divmod(key, n_runs + 1)
        while parent[x] != x:
            parent[x] = x = parent[parent[x]]
        while parent[y] != y:
            parent[y] = y = parent[parent[y]]
        if x != y:
            parent[max(x, y)] = min(x, y)
    roots = [0] * (n_runs + 1)
    for run in range(1, n_runs + 1):
        root = run
        while parent[root] != root:
            root = parent[root]
        roots[run] = root
    return np.asarray(roots, dtype=np.int64)[runs]


def _objects_of(img: np.ndarray, labels: np.ndarray) -> list[Object]:
    """One Object per label of ``labels`` (> 0), ordered by (top, left, first cell row-major)."""
    flat = labels.ravel()
    where = np.flatnonzero(flat)
    if where.size == 0:
        return []
    order = np.argsort(flat[where], kind="stable")  # stable: each group's cells stay row-major
    where = where[order]
    bounds = np.flatnonzero(np.diff(flat[where])) + 1
    starts = np.concatenate([[0], bounds]).tolist()
    ends = np.concatenate([bounds, [where.size]]).tolist()
    rows, cols = np.divmod(where, img.shape[1])
    # The first cell of a group is its top row's leftmost; the first cells are distinct, so no two keys tie.
    tops, lefts, firsts = rows[starts], np.minimum.reduceat(cols, starts), where[starts]
    cells = list(zip(rows.tolist(), cols.tolist()))
    colours = img.ravel()[where].tolist()
    return [Object._trusted(tuple(cells[starts[g]:ends[g]]), tuple(colours[starts[g]:ends[g]]))
            for g in np.lexsort((firsts, lefts, tops)).tolist()]


def find_objects(img: np.ndarray, background: int | None = 0, connectivity: int = 4,
                 by_color: bool = True) -> list[Object]:
    """Connected groups of non-``background`` cells (one colour each unless ``by_color=False``), by (top, left)."""
    check_grid(img)
    if background is not None:
        background = _check_color(background)
    diagonal = _check_connectivity(connectivity)
    same_color = _check_bool(by_color, "by_color")
    foreground = np.ones(img.shape, dtype=bool) if background is None else img != background
    return _objects_of(img, _labels(img, foreground, diagonal, same_color))


def object_from_mask(img: np.ndarray, mask: np.ndarray) -> Object:
    """The object of the cells where the boolean ``mask`` (img's shape) is True, in img's colours."""
    check_grid(img)
    if not isinstance(mask, np.ndarray) or mask.dtype != bool or mask.shape != img.shape:
        got = f"a {mask.dtype} array of shape {mask.shape}" if isinstance(mask, np.ndarray) else short(mask)
        raise ValueError(f"mask must be a boolean array of img's shape {img.shape}, got {got}")
    if not mask.any():
        raise ValueError("mask must select at least one cell, got an all-False mask")
    rows, cols = np.nonzero(mask)
    return Object._trusted(tuple(zip(rows.tolist(), cols.tolist())), tuple(img[mask].tolist()))


def move(obj: Object, dr: int, dc: int) -> Object:
    """A new object with every cell shifted ``dr`` rows down and ``dc`` columns right (negative: up, left)."""
    _check_object(obj)
    dr, dc = _check_int(dr, "dr"), _check_int(dc, "dc")
    top, left, bottom, right = obj.top + dr, obj.left + dc, obj.bottom + dr, obj.right + dc
    if min(top, left) < -MAX_COORD or max(bottom, right) > MAX_COORD:
        raise ValueError(f"move by ({dr}, {dc}) takes the object past +-{MAX_COORD}")
    return Object._trusted(tuple((row + dr, col + dc) for row, col in obj.cells), obj.colors)


def recolor(obj: Object, color: int) -> Object:
    """A new object with the same cells, all of ``color``."""
    _check_object(obj)
    return Object._trusted(obj.cells, (_check_color(color),) * obj.size)


def move_until_contact(obj: Object, direction: str, img: np.ndarray, background: int = 0) -> Object:
    """Slide ``obj`` (up/down/left/right) while its next position is inside ``img`` on background or its own cells."""
    _check_object(obj)
    if direction not in _STEPS:
        raise ValueError(f"direction must be one of {', '.join(_STEPS)}, got {short(direction)}")
    check_grid(img)
    free = img == _check_color(background)
    rows = np.array([row for row, _ in obj.cells])
    cols = np.array([col for _, col in obj.cells])
    inside = (rows >= 0) & (rows < img.shape[0]) & (cols >= 0) & (cols < img.shape[1])
    free[rows[inside], cols[inside]] = True
    dr, dc = _STEPS[direction]
    steps = 0
    while True:
        rows, cols = rows + dr, cols + dc
        if rows.min() < 0 or cols.min() < 0 or rows.max() >= img.shape[0] or cols.max() >= img.shape[1]:
            break
        if not free[rows, cols].all():
            break
        steps += 1
    return move(obj, dr * steps, dc * steps) if steps else obj


def touches(a: Object, b: Object, diagonal: bool = False) -> bool:
    """Whether a cell of ``a`` is next to (or on) a cell of ``b``: edge neighbours, corners too if ``diagonal``."""
    _check_object(a, "a")
    _check_object(b, "b")
    near = _NEIGHBOURS_8 if _check_bool(diagonal, "diagonal") else _NEIGHBOURS_4
    cells = set(a.cells)
    return any((row, col) in cells or any((row + dr, col + dc) in cells for dr, dc in near) for row, col in b.cells)


def same_shape(a: Object, b: Object) -> bool:
    """Whether ``a`` and ``b`` have the same cells up to a translation (colours ignored)."""
    return _check_object(a, "a").shape == _check_object(b, "b").shape


def holes(obj: Object) -> list[tuple[int, int]]:
    """Cells inside the box, not the object's, that cannot reach the box's edge through non-object cells (4-way)."""
    own = np.zeros((_check_object(obj).height, obj.width), dtype=np.int64)
    top, left = obj.top, obj.left
    for row, col in obj.cells:
        own[row - top, col - left] = 1
    labels = _labels(own, own == 0, diagonal=False, same_color=False)
    edge = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    enclosed = (labels > 0) & ~np.isin(labels, edge)
    rows, cols = np.nonzero(enclosed)
    return list(zip((rows + top).tolist(), (cols + left).tolist()))


def outline(obj: Object, diagonal: bool = False) -> list[tuple[int, int]]:
    """Cells next to the object (edge neighbours, corners too if ``diagonal``) that are not its own, row-major."""
    near = _NEIGHBOURS_8 if _check_bool(diagonal, "diagonal") else _NEIGHBOURS_4
    cells = set(_check_object(obj).cells)
    return sorted({(row + dr, col + dc) for row, col in obj.cells for dr, dc in near} - cells)
