"""Wire format between the pool and its workers: length-framed JSON headers plus raw grid bytes.

A frame is two little-endian u32 (header length, blob length), a JSON object and the blob. JSON
and raw bytes are safe to decode whatever a (possibly compromised) worker sends; pickle would not be.
"""

from __future__ import annotations

import json
import os
import struct

import numpy as np

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


def unpack(frame: bytes | memoryview) -> tuple[dict, memoryview]:
    """Split one whole frame; raises ValueError (or a JSON/struct error) on anything malformed."""
    view = memoryview(frame)
    head, blob = _PREFIX.unpack_from(view, 0)
    if _PREFIX.size + head + blob != len(view):
        raise ValueError("frame length does not match its prefix")
    header = json.loads(bytes(view[_PREFIX.size : _PREFIX.size + head]))
    if not isinstance(header, dict):
        raise ValueError("message header is not an object")
    return header, view[_PREFIX.size + head :]


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
