"""Frames between the coordinator and its local worker processes: an 8-byte big-endian
length and a pickle, both ways.  Both ends are trusted processes of the same installation
(the student's code runs in a sandboxed kernel of the worker and only ever sends plain data,
``wire.py``); a frame never carries anything a student wrote except as data."""
from __future__ import annotations

import pickle
import struct
from typing import IO, Any

HEADER = struct.Struct(">Q")


def write_frame(stream: IO[bytes], obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def read_exact(stream: IO[bytes], n: int) -> bytes | None:
    chunks = []
    while n:
        chunk = stream.read(n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame(stream: IO[bytes]) -> Any:
    """The next frame's object, or None at the end of the stream (or of a torn frame)."""
    head = read_exact(stream, HEADER.size)
    if head is None:
        return None
    body = read_exact(stream, HEADER.unpack(head)[0])
    return None if body is None else pickle.loads(body)
