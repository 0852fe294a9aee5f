"""The message format between the grader and the sandboxed worker that runs student code.

A message is an 8-byte length, a JSON header, then the raw ``.npy`` bytes of any arrays. Nothing
is ever unpickled: arrays are read with ``allow_pickle=False`` and every other value is plain JSON,
so a hostile worker can send wrong answers but cannot run code in the grader.
"""

from __future__ import annotations

import io
import json
import os
import select
import struct
import time

import numpy as np

MAX_MESSAGE = 64 * 2**20  # bytes; a larger answer is refused and the worker is stopped
MAX_HEADER = 2**20  # bytes of JSON in one message (arrays travel as blobs)
MAX_BLOBS = 4096
MAX_DEPTH = 32  # nesting of decoded containers
EXIT_TREE_MEMORY = 100  # the sandbox's exit code when its process tree used too much memory
_LEN = struct.Struct("!Q")


class Closed(Exception):
    """The other side went away (the worker crashed, exited or was killed)."""


class TooSlow(Exception):
    """No complete message arrived before the deadline."""


class BadMessage(Exception):
    """The bytes received are not a message (too large, or not this format)."""


class Opaque:
    """Stands in for a value of a type that cannot cross the wire (a function, an object array)."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name}>"


def _array_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def encode(value, blobs: list[bytes], depth: int = 0):
    """``value`` as JSON-able data; arrays go to ``blobs``. Unknown types become ``Opaque``."""
    if depth > 20:
        return {"opaque": "deeply nested container"}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value if not isinstance(value, int) or abs(value) < 2**63 else float(value)
    if isinstance(value, complex):
        value = np.complex128(value)
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        tensor = value.detach().cpu()
        if str(tensor.dtype) == "torch.bfloat16":
            tensor = tensor.float()
        value = tensor.numpy()
    if isinstance(value, np.generic):
        if value.dtype.kind not in "biufc":
            return {"opaque": f"numpy.{type(value).__name__}"}
        blobs.append(_array_bytes(np.asarray(value)))
        return {"scalar": len(blobs) - 1}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufc":
            return {"opaque": f"ndarray of dtype {value.dtype}"}
        blobs.append(_array_bytes(value))
        return {"array": len(blobs) - 1}
    if isinstance(value, (list, tuple)):
        items = [encode(v, blobs, depth + 1) for v in value]
        return {"tuple" if isinstance(value, tuple) else "list": items}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": [[k, encode(v, blobs, depth + 1)] for k, v in value.items()]}
    return {"opaque": type(value).__name__}


def decode(data, blobs: list[bytes], depth: int = 0):
    """Inverse of :func:`encode` (``Opaque`` for what could not be sent); ValueError for data
    nested deeper than ``MAX_DEPTH``."""
    if depth > MAX_DEPTH:
        raise ValueError(f"values nested more than {MAX_DEPTH} deep")
    if not isinstance(data, dict):
        return data
    if "array" in data or "scalar" in data:
        arr = np.load(
            io.BytesIO(blobs[int(data.get("array", data.get("scalar")))]), allow_pickle=False
        )
        return arr[()] if "scalar" in data else arr
    if "list" in data:
        return [decode(v, blobs, depth + 1) for v in data["list"]]
    if "tuple" in data:
        return tuple(decode(v, blobs, depth + 1) for v in data["tuple"])
    if "dict" in data:
        return {str(k): decode(v, blobs, depth + 1) for k, v in data["dict"]}
    return Opaque(str(data.get("opaque", "object")))


def pack(header: dict, blobs: list[bytes]) -> bytes:
    head = json.dumps({**header, "blob_sizes": [len(b) for b in blobs]}).encode()
    body = _LEN.pack(len(head)) + head + b"".join(blobs)
    return _LEN.pack(len(body)) + body


def send(fd: int, header: dict, blobs: list[bytes] = (), deadline: float | None = None) -> None:
    """Write one message; with a ``deadline`` (for a non-blocking ``fd``) raise TooSlow when
    the other side stops reading."""
    data = memoryview(pack(header, list(blobs)))
    while data:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([], [fd], [], left)[1]:
                raise TooSlow
        try:
            data = data[os.write(fd, data) :]
        except BlockingIOError:
            continue


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TooSlow
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise Closed
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def receive(fd: int, deadline: float | None = None, limit: int = MAX_MESSAGE):
    """One message as ``(header, blobs)``; raises Closed, TooSlow or BadMessage."""
    (size,) = _LEN.unpack(_read_exact(fd, _LEN.size, deadline))
    if size > limit:
        raise BadMessage(
            f"a message of {size / 2**20:.0f} MB (the limit is {limit / 2**20:.0f} MB)"
        )
    body = memoryview(_read_exact(fd, size, deadline))
    try:
        (head_len,) = _LEN.unpack(body[: _LEN.size])
        if head_len > MAX_HEADER:
            raise ValueError(f"a header of {head_len} bytes (the limit is {MAX_HEADER})")
        header = json.loads(bytes(body[_LEN.size : _LEN.size + head_len]))
        sizes = [int(s) for s in header.pop("blob_sizes")]
        if len(sizes) > MAX_BLOBS or min(sizes, default=0) < 0:
            raise ValueError("a bad list of arrays")
        blobs, at = [], _LEN.size + head_len
        for s in sizes:
            blobs.append(bytes(body[at : at + s]))
            at += s
        if at != len(body):
            raise ValueError("the arrays do not add up to the message")
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError, struct.error) as exc:
        raise BadMessage(f"not a grader message ({exc})") from None
    if not isinstance(header, dict):
        raise BadMessage("not a grader message")
    return header, blobs
