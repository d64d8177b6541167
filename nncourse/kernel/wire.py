"""The plain-data wire format between the grader and a grading kernel.

Both sides use this module: the kernel ``encode``s what a student's function returned, the
grader ``decode``s it.  Only plain data crosses: ``None``, bools, ints, floats (NaN and inf
included), strings, lists, tuples, dicts with string keys, NumPy arrays and scalars of a
numeric or bool dtype (as ``.npy`` bytes, read back with ``allow_pickle=False``).  Anything
else stays in the kernel and is described as ``{"object": type name, "ref": id}``.

A value too large to send (an array over ``MAX_ARRAY_BYTES``, a string over
``MAX_STRING_CHARS``, or one that would take a reply over the course's ``MAX_REPLY_BYTES``)
crosses as ``{"too_large": {"type": name, "bytes": size}}`` instead: ``decode`` raises
``ValueTooLarge`` for it, so that the check fails with that reason.

``decode`` never executes anything it is sent (JSON and ``np.load(allow_pickle=False)``
only) and enforces limits on size, depth, item count and dtype, raising ``WireError``.
It imports only the standard library and NumPy (it is copied into the kernel's boot folder).
"""
import base64
import io
import json
import math

import numpy as np

MAX_REPLY_BYTES = 16 * 1024 * 1024   # one reply, base64 text (default of the course's setting)
MAX_STRING_CHARS = 1024 * 1024       # one string value
MAX_DEPTH = 8                        # nesting of lists / dicts
MAX_ITEMS = 200_000                  # list items + dict entries in one value
MAX_ARRAY_BYTES = 32 * 1024 * 1024   # one decoded array
ARRAY_KINDS = "biufc"                # bool, int, uint, float, complex: never object/void


class WireError(ValueError):
    """A reply that is not plain data within the limits (says what was wrong)."""


class ValueTooLarge(WireError):
    """The kernel sent ``too_large`` instead of a value: ``type_name`` of ``nbytes`` bytes."""

    def __init__(self, type_name, nbytes):
        super().__init__(f"a {type_name} of {nbytes:,} bytes is too large to send")
        self.type_name, self.nbytes = type_name, nbytes


def too_large(value, nbytes):
    """What crosses instead of ``value`` (``nbytes`` large) when it is too large."""
    return {"too_large": {"type": type(value).__name__, "bytes": int(nbytes)}}


# --- kernel side ------------------------------------------------------------------------
def _npy(a):
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)       # (np.save copies a non-contiguous array itself)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def encode(value, keep, depth=0):
    """``value`` as JSON-ready plain data; ``keep(obj) -> id`` stores an object kernel-side."""
    if isinstance(value, str) and len(value) > MAX_STRING_CHARS:
        return too_large(value, len(value.encode("utf-8", "surrogatepass")))
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2 ** 53 else {"float": float(value)}
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else {"float": str(float(value))}
    if isinstance(value, (np.ndarray, np.generic)) and type(value).__module__ == "numpy" \
            and value.dtype.kind in ARRAY_KINDS:
        if value.nbytes > MAX_ARRAY_BYTES:
            return too_large(value, value.nbytes)
        return {"npy": _npy(np.asarray(value)), "scalar": isinstance(value, np.generic)}
    if type(value) in (list, tuple) and len(value) > 8 and _uniform(value):
        if len(value) * 8 > MAX_ARRAY_BYTES:
            return too_large(value, len(value) * 8)
        return {"seq": "list" if type(value) is list else "tuple", "npy": _npy(np.asarray(value))}
    if depth < MAX_DEPTH and type(value) in (list, tuple):
        return {"list" if type(value) is list else "tuple": [encode(v, keep, depth + 1)
                                                               for v in value]}
    if depth < MAX_DEPTH and type(value) is dict and all(type(k) is str for k in value):
        return {"dict": {k: encode(v, keep, depth + 1) for k, v in value.items()}}
    return {"object": type(value).__name__, "ref": keep(value)}


def _uniform(items):
    """Whether a list is numbers of one kind (one .npy instead of one per item: a training
    history of 10,000 np.float32 values crosses in milliseconds)."""
    first = items[0]
    if isinstance(first, np.generic) and type(first).__module__ == "numpy" \
            and first.dtype.kind in "fiu":
        return all(type(v) is type(first) for v in items)
    if type(first) in (float, int):
        return all(type(v) is type(first) for v in items) and (
            type(first) is float or all(abs(v) < 2 ** 53 for v in items))
    return False


# --- grader side ------------------------------------------------------------------------
class KernelObject:
    """Something the student's code returned that is not plain data (it stays in the kernel)."""

    def __init__(self, type_name, ref):
        self.type_name, self.ref = str(type_name)[:100], int(ref)

    def __repr__(self):
        return f"<{self.type_name} object>"


def _array(text, scalar):
    if not isinstance(text, str) or len(text) > MAX_ARRAY_BYTES * 4 // 3 + 8:
        raise WireError("array too large or malformed")
    try:
        a = np.load(io.BytesIO(base64.b64decode(text, validate=True)), allow_pickle=False)
    except Exception as exc:   # not .npy, or an object array (pickle refused)
        raise WireError(f"not a plain .npy array ({type(exc).__name__})") from None
    if type(a) is not np.ndarray or a.dtype.kind not in ARRAY_KINDS or a.dtype.fields:
        raise WireError(f"array of dtype {a.dtype} is not numeric")
    return a[()] if scalar and a.ndim == 0 else a


def decode(data, object_type=KernelObject):
    """The value of ``encode``'s output ``data`` (already JSON-decoded), within the limits."""
    count = [0]

    def walk(v, depth):
        count[0] += 1
        if count[0] > MAX_ITEMS or depth > MAX_DEPTH + 1:
            raise WireError("value too large or too deeply nested")
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        if not isinstance(v, dict) or len(v) not in (1, 2):
            raise WireError("malformed value")
        if "seq" in v and "npy" in v:
            a = _array(v["npy"], False)
            count[0] += a.size
            if a.ndim != 1 or count[0] > MAX_ITEMS:
                raise WireError("malformed or too long sequence")
            items = list(a)
            return items if v["seq"] == "list" else tuple(items)
        if "npy" in v:
            return _array(v["npy"], bool(v.get("scalar")))
        if "too_large" in v:
            big = v["too_large"]
            if not isinstance(big, dict) or not isinstance(big.get("bytes"), int):
                raise WireError("malformed value")
            raise ValueTooLarge(str(big.get("type", "value"))[:100], big["bytes"])
        if "float" in v:
            if not isinstance(v["float"], (str, float)) or str(v["float"]) not in (
                    "nan", "inf", "-inf") and not isinstance(v["float"], float):
                raise WireError("malformed float")
            return float(v["float"])
        if "list" in v and isinstance(v["list"], list):
            return [walk(x, depth + 1) for x in v["list"]]
        if "tuple" in v and isinstance(v["tuple"], list):
            return tuple(walk(x, depth + 1) for x in v["tuple"])
        if "dict" in v and isinstance(v["dict"], dict):
            return {str(k): walk(x, depth + 1) for k, x in v["dict"].items()}
        if "object" in v and isinstance(v.get("ref"), int):
            return object_type(v["object"], v["ref"])
        raise WireError("malformed value")
    return walk(data, 0)


def loads(text, limit=None):
    """JSON text of a reply (base64 of UTF-8 JSON) -> Python object, size-checked against
    ``limit`` characters (default ``MAX_REPLY_BYTES``)."""
    if not isinstance(text, str) or len(text) > (MAX_REPLY_BYTES if limit is None else limit):
        raise WireError("reply too large")
    try:
        return json.loads(base64.b64decode(text, validate=True).decode("utf-8"))
    except Exception as exc:
        raise WireError(f"reply is not base64 JSON ({type(exc).__name__})") from None


def dumps(obj):
    """Python object of plain JSON -> base64 text (what crosses in both directions)."""
    return base64.b64encode(json.dumps(obj, allow_nan=False).encode("utf-8")).decode("ascii")
