"""The grader's side of the call protocol: the student's kernel as names and plain data.

A hidden check (``autograders/<assignment>.py``) runs in the grader and receives ``Remote``
handles for the names its notebook cell lists (``sum_squared_error``, ``TwoLayerNet``,
``dW`` ...).  ``remote.call(*args)`` asks the kernel to call it and returns the result as
plain data (``wire.decode``); what is not plain data (a network object) comes back as
another ``Remote``.  ``remote.attr("params")`` / ``.item("W1")`` address parts of it,
``.value()`` reads one, ``.set(v)`` writes one.  ``Student.run(ops)`` sends many of these in
one round trip (``Remote.op(...)``, ``.get_op()``, ``.set_op(v)`` build them).

Arguments are plain data, ``Remote`` handles of kernel objects, or ``Public`` test
functions (``autograders/testfuncs.py``, which the kernel has too).  The transport
(``execute.py``) raises ``KernelProblem`` when the kernel does not answer in time, dies or
answers with something that is not a reply; the check then scores 0 with that message.
"""
import itertools
import logging

from . import wire

log = logging.getLogger(__name__)
TOO_LARGE = ("返された値 ({type}、{mb:,.1f} MB) が大きすぎるため、採点では受け取りませんでした。"
             "数値や小さな配列を返すところで、大きな配列や長い文字列を返していないか確かめてください。")


class KernelProblem(Exception):
    """The kernel did not answer a request properly; ``kind`` is timeout/died/protocol."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind, self.message = kind, message


class StudentError(Exception):
    """The student's code raised ``etype: message`` while the grader called it."""

    def __init__(self, etype, message):
        super().__init__(f"{etype}: {message}" if message else etype)
        self.etype, self.message = str(etype), str(message)


class Public:
    """A public test function by name: callable here, and passed to the kernel by name."""

    def __init__(self, name):
        # imported when used: the graded course's autograders/ (the same file the kernel
        # has), which the worker puts first on sys.path for each course (``task._activate``)
        import autograders.testfuncs as testfuncs
        self.name, self.func = name, getattr(testfuncs, name)

    def __call__(self, *args, **kwargs):
        return self.func(*args, **kwargs)

    def __repr__(self):
        return self.name


def _arg(v):
    """A value the grader sends: plain data, a kernel object, or a public function."""
    if isinstance(v, Public):
        return {"public": v.name}
    if isinstance(v, Remote):
        if "ref" not in v.target or v.target.get("path"):
            raise TypeError("only objects returned by the kernel can be passed back")
        return {"object": v.label, "ref": v.target["ref"]}
    if type(v) in (list, tuple):
        return {"list" if type(v) is list else "tuple": [_arg(x) for x in v]}
    if type(v) is dict:
        return {"dict": {str(k): _arg(x) for k, x in v.items()}}
    return wire.encode(v, keep=_no_objects)


def _no_objects(obj):
    raise TypeError(f"{type(obj).__name__} cannot be sent to the kernel")


class Student:
    """One kernel's names and calls, through ``transport(request_text, deadline) -> reply``."""

    def __init__(self, transport, deadline, max_reply=None):
        self.transport, self.deadline = transport, deadline     # time.monotonic() deadline
        self.max_reply = max_reply            # characters of one reply (None: wire's default)
        self.calls = 0                    # round trips made (for the benchmark and tests)
        self._ids = itertools.count(1)

    def __getitem__(self, name):
        return Remote(self, {"name": str(name)}, str(name))

    def run(self, ops, preserve_random=True):
        """Send ``ops`` in one request; a list with each op's value or its ``StudentError``."""
        rid = next(self._ids)
        request = wire.dumps({"id": rid, "ops": ops, "preserve_random": preserve_random})
        self.calls += 1
        text = self.transport(request, self.deadline)
        try:
            reply = wire.loads(text, self.max_reply)
            if not isinstance(reply, dict) or reply.get("id") != rid or \
                    not isinstance(reply.get("results"), list) or \
                    len(reply["results"]) != len(ops):
                raise wire.WireError("not the reply to this request")
            return [self._result(r) for r in reply["results"]]
        except wire.ValueTooLarge as exc:
            log.warning("refused a value the kernel returned: %s", exc)
            raise KernelProblem("too_large", TOO_LARGE.format(
                type=exc.type_name, mb=exc.nbytes / 2**20)) from None
        except wire.WireError as exc:
            raise KernelProblem("protocol", f"採点の問い合わせに対する答えが不正でした ({exc})。"
                                "採点用の仕組み (IPython の設定など) を書き換えていませんか？") from None

    def _result(self, r):
        if not isinstance(r, dict) or not isinstance(r.get("ok"), bool):
            raise wire.WireError("malformed result")
        if not r["ok"]:
            return StudentError(str(r.get("etype", "Error"))[:100], str(r.get("message", ""))[:2000])
        value = wire.decode(r.get("value"), object_type=self._object)
        if "args" in r:
            args = r["args"]
            if not isinstance(args, list):
                raise wire.WireError("malformed arguments")
            return value, [wire.decode(a, object_type=self._object) for a in args]
        return value

    def _object(self, type_name, ref):
        return Remote(self, {"ref": int(ref)}, str(type_name)[:100])


class Remote:
    """A name, object or part of one in the student's kernel (nothing of it lives here)."""

    def __init__(self, student, target, label):
        self.student, self.target, self.label = student, target, label

    def _sub(self, kind, key, text):
        path = list(self.target.get("path", [])) + [[kind, key]]
        return Remote(self.student, dict(self.target, path=path), self.label + text)

    def attr(self, name):
        return self._sub("attr", str(name), f".{name}")

    def item(self, key):
        return self._sub("item", key, f"[{key!r}]")

    def op(self, *args, return_args=False, **kwargs):
        """The request to call this with ``args`` (for ``Student.run``)."""
        return {"op": "call", "target": self.target, "args": [_arg(a) for a in args],
                "kwargs": {k: _arg(v) for k, v in kwargs.items()}, "return_args": return_args}

    def _one(self, op):
        result = self.student.run([op])[0]
        if isinstance(result, StudentError):
            raise result
        return result

    def call(self, *args, **kwargs):
        """Call it in the kernel; its return value (``StudentError`` if it raised)."""
        return self._one(self.op(*args, **kwargs))

    def call_with_args(self, *args, **kwargs):
        """Call it; (return value, the arguments as they were after the call)."""
        return self._one(self.op(*args, return_args=True, **kwargs))

    def get_op(self):
        """The request to read its value (for ``Student.run``)."""
        return {"op": "get", "target": self.target}

    def set_op(self, value):
        """The request to assign ``value`` (plain data) to this attribute or item."""
        if not self.target.get("path"):
            raise TypeError("only an attribute or item can be set")
        return {"op": "set", "target": self.target, "value": _arg(value)}

    def value(self):
        """Its current value as plain data (a ``Remote`` again if it is an object)."""
        return self._one(self.get_op())

    def set(self, value):
        """Assign ``value`` (plain data) to this attribute or item of a kernel object."""
        return self._one(self.set_op(value))

    def __repr__(self):
        return self.label
