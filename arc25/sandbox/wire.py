"""Wire format between the pool and its workers: length-framed JSON headers plus raw grid bytes.

A frame is two little-endian u32 (header length, blob length), a JSON object and the blob. JSON
and raw bytes are safe to decode whatever a (possibly compromised) worker sends; pickle would not be.
Inside a worker, the zygote hands each program's process its job as ``marshal`` data (``pack_job``):
that direction only ever carries what the trusted zygote wrote.
"""

from __future__ import annotations

import json
import marshal
import os
import struct

import numpy as np

from arc25.programs.errors import ERROR_CLASSES, one_line
from arc25.programs.grids import MAX_COLOR, MAX_SIDE

_PREFIX = struct.Struct("<II")
MAX_REPLY_BYTES = 4 << 20


def pack(header: dict, blob: bytes = b"") -> bytes:
    head = json.dumps(header, separators=(",", ":")).encode()
    return _PREFIX.pack(len(head), len(blob)) + head + blob


def frame_size(buffer: bytearray | bytes) -> int | None:
    """Total size of the frame at the start of ``buffer``, or None while its prefix is incomplete."""
    if len(buffer) < _PREFIX.size:
        return None
    head, blob = _PREFIX.unpack_from(buffer, 0)
    return _PREFIX.size + head + blob


def reply_header_limit(n_grids: int) -> int:
    """Most bytes an honest program reply's JSON header takes: its shapes (under 16 bytes a grid), or a one-line
    message (MAX_MESSAGE_CHARS, escaped) and the probe's short report, with room to spare."""
    return 4096 + 16 * n_grids


def unpack(frame: bytes | memoryview, max_header: int | None = None) -> tuple[dict, memoryview]:
    """Split one whole frame; raises ValueError (or a JSON/struct error) on anything malformed, or on a header
    longer than ``max_header`` bytes before parsing it (a JSON bomb costs its parser time and memory)."""
    view = memoryview(frame)
    head, blob = _PREFIX.unpack_from(view, 0)
    if _PREFIX.size + head + blob != len(view):
        raise ValueError("frame length does not match its prefix")
    if max_header is not None and head > max_header:
        raise ValueError(f"message header of {head} bytes is over its {max_header}")
    header = json.loads(bytes(view[_PREFIX.size : _PREFIX.size + head]))
    if not isinstance(header, dict):
        raise ValueError("message header is not an object")
    return header, view[_PREFIX.size + head :]


_JOB_PREFIX = struct.Struct("<I")


def pack_job(timeout_s: float, sources: list[str], shapes: list, probe: bool, shared: bool, grids: bytes) -> bytes:
    """A zygote's job for one program's process: length-prefixed ``marshal`` data. Only the zygote (trusted) writes
    it and only the process it started reads it (marshal is no format for anything a program could have written);
    decoding it is a few C calls, where JSON's decoder touched ~80 more pages of each new process."""
    body = marshal.dumps((float(timeout_s), [str(s) for s in sources], shapes, bool(probe), bool(shared), bytes(grids)))
    return _JOB_PREFIX.pack(len(body)) + body


def read_job(fd: int) -> tuple | None:
    """In a program's process: (timeout_s, sources, shapes, probe, shared, grid bytes) from ``fd``; None at end of file."""
    prefix = _read_exactly(fd, _JOB_PREFIX.size)
    body = None if prefix is None else _read_exactly(fd, _JOB_PREFIX.unpack(prefix)[0])
    return None if body is None else marshal.loads(body)


def read_frame(fd: int) -> bytes | None:
    """Blocking read of one frame from ``fd`` (the worker's side); None at end of file."""
    prefix = _read_exactly(fd, _PREFIX.size)
    if prefix is None:
        return None
    head, blob = _PREFIX.unpack(prefix)
    rest = _read_exactly(fd, head + blob)
    return None if rest is None else prefix + rest


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks, got = [], 0
    while got < size:
        chunk = os.read(fd, min(size - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def encode_grids(grids: list[np.ndarray], dtype: str) -> tuple[list[list[int]], bytes]:
    shapes = [[int(g.shape[0]), int(g.shape[1])] for g in grids]
    return shapes, b"".join(g.astype(dtype, copy=False).tobytes() for g in grids)


def decode_grids(shapes, blob, offset: int, dtype: str) -> tuple[list[np.ndarray], int]:
    itemsize = np.dtype(dtype).itemsize
    grids = []
    for rows, cols in shapes:
        count = rows * cols
        grids.append(np.frombuffer(blob, dtype=dtype, count=count, offset=offset).reshape(rows, cols))
        offset += count * itemsize
    return grids, offset


def decode_reply(header: dict, blob: memoryview, n_grids: int):
    """A worker's reply as outputs or an error; raises ValueError (or KeyError, TypeError) if it is malformed."""
    if header.get("ok") is True:
        shapes = header["shapes"]
        if type(shapes) is not list or len(shapes) != n_grids:
            raise ValueError("wrong number of grids")
        sizes = []
        for shape in shapes:
            if type(shape) is not list or len(shape) != 2:
                raise ValueError("bad grid shape")
            rows, cols = shape
            if type(rows) is not int or type(cols) is not int or not (1 <= rows <= MAX_SIDE and 1 <= cols <= MAX_SIDE):
                raise ValueError("bad grid shape")
            sizes.append(rows * cols)
        if len(blob) != sum(sizes):
            raise ValueError("grid bytes do not match shapes")
        # One conversion and one colour check for the whole reply: per-grid calls cost more than the work.
        cells = np.frombuffer(blob, dtype=np.uint8)
        if cells.size and int(cells.max()) > MAX_COLOR:
            raise ValueError("bad colour")
        cells = cells.astype(np.int64)
        outputs, offset = [], 0
        for (rows, cols), size in zip(shapes, sizes):
            outputs.append(cells[offset : offset + size].reshape(rows, cols))
            offset += size
        return outputs
    cls = ERROR_CLASSES.get(header.get("err"))
    message = header.get("msg")
    if cls is None or not isinstance(message, str):
        raise ValueError("bad error reply")
    return cls(one_line(message))
