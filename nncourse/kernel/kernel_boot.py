"""A grading kernel's main script: the call server, the output caps, then ipykernel.

``sandbox.py`` copies this file, ``wire.py`` and the course's public test functions
(``autograders/testfuncs.py``) into the kernel's boot folder and runs
``python <boot>/kernel_boot.py -f <connection file>`` instead of ``python -m ipykernel_launcher``.

Nothing here is secret, and nothing here decides a grade: the server only runs what the
grader asks (call a named function, class or method of the student's namespace; read or
set a named value) and answers with plain data (``wire.encode``).  A student who replaces
it can only answer with values they computed themselves, which the grader then judges.

The grader sends ``__nncourse__.serve('<request>')`` as a silent execute request and reads
``__nncourse__.reply`` through ``user_expressions``; see ``student.py`` for the other side.
"""
import builtins
import contextlib
import importlib.abc
import importlib.util
import io
import os
import sys
import warnings

MAX_MESSAGE = 2000          # characters of an exception message sent back


class Server:
    """Runs the grader's requests against the student's namespace (``shell.user_ns``)."""

    def __init__(self, shell, wire, public, max_reply=None):
        self.shell, self.wire, self.public = shell, wire, public
        self.max_reply = max_reply or wire.MAX_REPLY_BYTES     # the grader takes no more
        self.objects = {}           # ref -> object returned by student code (kept for later calls)
        self.reply = ""

    def keep(self, obj):
        ref = len(self.objects) + 1
        self.objects[ref] = obj
        return ref

    def _arg(self, v):
        if isinstance(v, dict) and "public" in v:
            return getattr(self.public, v["public"])
        if isinstance(v, dict) and "object" in v:
            return self.objects[v["ref"]]
        if isinstance(v, dict) and "list" in v:
            return [self._arg(x) for x in v["list"]]
        if isinstance(v, dict) and "tuple" in v:
            return tuple(self._arg(x) for x in v["tuple"])
        if isinstance(v, dict) and "dict" in v:
            return {k: self._arg(x) for k, x in v["dict"].items()}
        return self.wire.decode(v)            # a fresh object for every call

    def _target(self, t):
        obj = self.objects[t["ref"]] if "ref" in t else self._name(t["name"])
        for kind, key in t.get("path", []):
            obj = getattr(obj, key) if kind == "attr" else obj[key]
        return obj

    def _name(self, name):
        ns = self.shell.user_ns
        if name not in ns:
            raise NameError(f"name '{name}' is not defined")
        return ns[name]

    def _op(self, op):
        kind = op["op"]
        if kind == "get":
            return self._target(op["target"]), None
        if kind == "set":
            t = dict(op["target"])
            *path, (how, key) = t.pop("path")
            obj = self._target(dict(t, path=path))
            value = self._arg(op["value"])
            setattr(obj, key, value) if how == "attr" else obj.__setitem__(key, value)
            return None, None
        func = self._target(op["target"])
        args = [self._arg(a) for a in op.get("args", [])]
        kwargs = {k: self._arg(v) for k, v in op.get("kwargs", {}).items()}
        if not callable(func):
            raise TypeError(f"'{type(func).__name__}' object is not callable")
        return func(*args, **kwargs), (args if op.get("return_args") else None)

    def _run(self, op, room):
        """(the result of ``op``, its size as sent); a value that would take the reply over
        ``room`` characters is sent as ``too_large`` (the grader would refuse the reply)."""
        try:
            with _quiet():
                value, args = self._op(op)
            out = {"ok": True, "value": self.wire.encode(value, self.keep)}
            if args is not None:
                out["args"] = [self.wire.encode(a, self.keep) for a in args]
            size = len(self.wire.dumps(out))
            if size > room:
                out = {"ok": True, "value": self.wire.too_large(value, size * 3 // 4)}
                size = len(self.wire.dumps(out))
            return out, size
        except KeyboardInterrupt:
            raise
        except BaseException as exc:       # the student's error is the grader's data
            try:
                text = str(exc)[:MAX_MESSAGE]
            except Exception:
                text = ""
            out = {"ok": False, "etype": type(exc).__name__[:100], "message": text}
            return out, len(self.wire.dumps(out))

    def serve(self, request):
        """Run every op of ``request`` (wire text) in order; the answer goes to ``reply``."""
        self.reply = ""
        req = self.wire.loads(request)
        random_state = None
        if req.get("preserve_random"):
            import numpy as np
            random_state = np.random.get_state()
        results, room = [], self.max_reply - 1000    # 1000: the reply's own frame
        try:
            for op in req["ops"]:
                result, size = self._run(op, room)
                results.append(result)
                room -= size
        finally:
            if random_state is not None:
                import numpy as np
                np.random.set_state(random_state)
        self.reply = self.wire.dumps({"id": req["id"], "results": results})


@contextlib.contextmanager
def _quiet():
    """Student prints and warnings during the grader's calls go nowhere."""
    import numpy as np
    sink = _Sink()
    with warnings.catch_warnings(), np.errstate(all="ignore"), \
            contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        warnings.simplefilter("ignore")
        yield


class _Sink(io.TextIOBase):
    def write(self, s):
        return len(s)


OUTPUT_NOTE = ("\n[出力が多すぎるため、ここから先の出力は採点では省略しました "
               "(1 セルあたり {limit:,} 文字まで)]\n")


def cap_output(limit):
    """Drop a cell's printed output beyond ``limit`` characters inside the kernel, so that a
    print of hundreds of MB never travels to the grader (nor delays the next interrupt)."""
    from ipykernel import iostream
    original = iostream.OutStream.write
    state = {"parent": None, "n": 0, "noted": False}

    def write(self, string):
        try:                                           # the cell being run: its count
            from IPython import get_ipython
            parent = get_ipython().execution_count
        except Exception:
            parent = None
        if parent != state["parent"]:                  # a new cell: count from zero
            state.update(parent=parent, n=0, noted=False)
        room = limit - state["n"]
        state["n"] += len(string)
        if room >= len(string):
            return original(self, string)
        if not state["noted"]:                         # say once per cell what was cut
            state["noted"] = True
            original(self, string[:max(room, 0)] + OUTPUT_NOTE.format(limit=limit))
        return len(string)

    iostream.OutStream.write = write


MESSAGE_NOTE = ("[出力が多すぎるため、この出力は採点では省略しました "
                "(1 つの出力あたり {limit:,} バイトまで)]")
OUTPUT_TYPES = ("stream", "display_data", "execute_result", "update_display_data", "error")


def _smaller(msg_type, content, limit):
    """``content`` of an output message (or a failed execute_reply) cut to fit ``limit``."""
    note = MESSAGE_NOTE.format(limit=limit)
    if msg_type == "stream":
        return dict(content, text=str(content.get("text", ""))[:limit // 8] + "\n" + note)
    if msg_type in ("error", "execute_reply"):
        evalue = str(content.get("evalue", ""))
        return dict(content, ename=str(content.get("ename", ""))[:100],
                    evalue=evalue[:limit // 8] + (" " + note if len(evalue) > limit // 8 else ""),
                    traceback=[note])
    return dict(content, data={"text/plain": note}, metadata={})


def cap_messages(limit):
    """Keep each output message of the kernel within ``limit`` bytes (the grader drops the
    kernel's output connection for a bigger one, ``sandbox.IOPUB_MESSAGE_BYTES``): an output
    too large is sent as a note instead, so that an honest kernel's later outputs still
    arrive."""
    from jupyter_client.session import Session
    original = Session.serialize

    def serialize(self, msg, ident=None):
        frames = original(self, msg, ident)
        kind = msg.get("header", {}).get("msg_type") if isinstance(msg, dict) else None
        if sum(len(f) for f in frames) <= limit or not (
                kind in OUTPUT_TYPES or kind == "execute_reply"
                and msg["content"].get("status") == "error"):
            return frames
        return original(self, dict(msg, content=_smaller(kind, msg["content"], limit)), ident)

    Session.serialize = serialize


MAX_ALT = 300               # characters of a figure's description (its alt text)


def figure_alt(fig):
    """What a matplotlib figure shows, in words, from its own titles, axis labels and legends
    (the alt text of its image in the feedback and formgrader; sanitize.py caps it)."""
    def text(t):
        return " ".join(str(t or "").split())
    parts = []
    suptitle = getattr(fig, "_suptitle", None)
    if suptitle is not None and text(suptitle.get_text()):
        parts.append(f"「{text(suptitle.get_text())}」")
    for ax in fig.axes[:6]:
        bits = [f"「{text(ax.get_title())}」"] if text(ax.get_title()) else []
        if text(ax.get_xlabel()):
            bits.append(f"横軸 {text(ax.get_xlabel())}")
        if text(ax.get_ylabel()):
            bits.append(f"縦軸 {text(ax.get_ylabel())}")
        legend = ax.get_legend()
        names = [text(t.get_text()) for t in legend.get_texts()] if legend else []
        if any(names):
            bits.append("凡例 " + ", ".join(n for n in names if n))
        parts.append("、".join(bits) or "ラベルのないグラフ")
    what = "; ".join(parts) if parts else "空の図"
    return f"あなたのコードが描いた図 ({len(fig.axes)} 個のグラフ): {what}"[:MAX_ALT]


def describe_figures():
    """matplotlib's inline backend (Jupyter's, ``MPLBACKEND``) displays each figure with
    ``_fetch_figure_metadata(fig)`` as its metadata: add ``figure_alt`` as ``alt`` once the
    backend module is imported (it is imported only when a cell uses matplotlib)."""
    name = "matplotlib_inline.backend_inline"

    def describe(module):
        original = module._fetch_figure_metadata

        def metadata(fig):
            md = dict(original(fig) or {})
            try:
                md["alt"] = figure_alt(fig)
            except Exception:           # a figure's odd texts never stop its display
                pass
            return md
        module._fetch_figure_metadata = metadata

    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path, target=None):
            if fullname != name:
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(fullname)
            if spec is None or spec.loader is None:
                return spec
            run = spec.loader.exec_module

            def exec_module(module):
                run(module)
                describe(module)
            spec.loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, Finder())


def install_server():
    """Make ``__nncourse__`` (the call server) a builtin once IPython's shell exists."""
    import testfuncs
    import wire
    from ipykernel.ipkernel import IPythonKernel
    original = IPythonKernel.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        builtins.__nncourse__ = Server(self.shell, wire, testfuncs,
                                       int(os.environ.get("NNCOURSE_MAX_REPLY_BYTES") or 0))

    IPythonKernel.__init__ = init


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and sys.path[0] in ("", ".", here):
        del sys.path[0]
    sys.path.insert(0, here)           # wire.py and testfuncs.py, nothing else
    install_server()
    describe_figures()
    if os.environ.get("NNCOURSE_MAX_OUTPUT_CHARS"):
        cap_output(int(os.environ["NNCOURSE_MAX_OUTPUT_CHARS"]))
    if os.environ.get("NNCOURSE_MAX_MESSAGE_BYTES"):
        cap_messages(int(os.environ["NNCOURSE_MAX_MESSAGE_BYTES"]))
    from ipykernel import kernelapp
    kernelapp.launch_new_instance()
