"""A grading kernel's main script: snapshot NumPy, install the guard, then start ipykernel.

``sandbox.py`` copies this file into the grading bundle and runs it instead of
``python -m ipykernel_launcher``.  It imports only the standard library and NumPy, before any
student code runs, so that ``restore_numpy()`` (called by ``execute.py`` at the top of every
test cell) can undo a student's monkeypatching of NumPy's functions (``np.allclose = ...``).
It is registered as the module ``_nncourse_boot``.

The guard (issue #5, sandboxed kernels only: ``NNCOURSE_GUARD=1``) is an audit hook
(``sys.addaudithook``; it cannot be removed) that keeps the student's code away from the
reference solutions and the hidden tests, which must sit in the same process:

- Locked (always, except inside a hidden-test region): opening a file of the bundle
  (``reference/``, ``autograders/``; ``course_config.py`` is public) or the guard's own files,
  and importing ``reference``/``autograders``, raise ``PermissionError``/``ImportError``.
- ``execute.py`` wraps each hidden-test region in ``__nncourse_guard__.unlock(token)`` /
  ``lock()``.  The token is one-time: the grader writes its SHA-256 to ``guard-tokens`` in the
  kernel's folder just before the cell and clears it after; the guard spends it.  Unlocked,
  only the top-level code of that cell (and the library/bundle code it calls) may use the
  bundle; a student function called by a check is still blocked, and while it runs
  (``compare.call_student``) the bundle's modules and the names the hidden lines bound are
  hidden.  ``lock()`` drops the bundle's modules from ``sys.modules``, removes the names the
  hidden lines bound and the checks' frames from the exception; IPython compiling the next
  cell locks too.
- Always: no ``/proc/*/mem``, no child processes (they would have no audit hook), no ctypes
  called directly by student code, no ``gc.get_objects``/``get_referrers``, no direct
  ``tb_frame``/``gi_frame`` access, no code objects built or compiled under a library's or the
  hidden cell's file name; while unlocked, student code may not look at frames at all.
- What was blocked (when student code was on the stack) is appended to
  ``guard-violations.jsonl`` in the kernel's folder; the grader moves it into the result's
  ``flags`` after each cell, and the report lists flagged submissions.  Blocked accesses raise
  in the student's code, so the exercises that depend on them score 0.

Not protected, honestly: this is in-process Python, so introspection remains an arms race.
Code that reaches objects through routes no audit event covers (e.g. ``__closure__`` of the
guard's functions, the hidden checks' objects passed to student code outside
``call_student``, attribute walks from objects the student legitimately holds) can still get
further than we would like; the guard makes the obvious routes fail loudly and flagged.
"""
import hashlib
import json
import os
import sys
import threading


def _snapshot():
    try:
        import numpy
        import numpy.testing  # noqa: F401  (the comparison helpers students might patch)
    except ImportError:
        return []
    return [(m, dict(vars(m))) for name, m in sorted(sys.modules.items())
            if m is not None and (name == "numpy" or name.startswith("numpy."))]


_SNAPSHOT = _snapshot()


def restore_numpy():
    """Put back every NumPy module attribute that was rebound since the kernel started."""
    changed = 0
    for module, attrs in _SNAPSHOT:
        current = vars(module)
        for key, value in attrs.items():
            if current.get(key, value) is not value or key not in current:
                setattr(module, key, value)
                changed += 1
    return changed


# ---------------------------------------------------------------------------------------------
# The guard (issue #5): student code may not import or read the reference / hidden tests.
# ---------------------------------------------------------------------------------------------
GUARDED_MODULES = ("reference", "autograders")
PUBLIC = ("course_config.py",)          # in the bundle but not secret (mnist.py reads it)
TOKENS_FILE = "guard-tokens"            # SHA-256 hex of the token the grader will use next
VIOLATIONS_FILE = "guard-violations.jsonl"
_PROCESS_EVENTS = frozenset({"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn",
                             "os.spawn", "pty.spawn"})
_CTYPES_EVENTS = frozenset({"ctypes.dlopen", "ctypes.dlsym", "ctypes.dlsym/handle",
                            "ctypes.call_function", "ctypes.string_at", "ctypes.wstring_at",
                            "ctypes.cdata", "ctypes.cdata/buffer"})
_INTROSPECTION = frozenset({"gc.get_objects", "gc.get_referrers", "gc.get_referents",
                            "sys._current_frames", "sys._current_exceptions"})
_FILE_EVENTS = frozenset({"os.rename", "os.remove", "os.rmdir", "os.truncate", "os.link",
                          "os.symlink", "os.chmod", "os.chown", "os.utime", "shutil.copyfile",
                          "shutil.copymode", "shutil.copystat", "shutil.copytree", "shutil.rmtree",
                          "shutil.move"})
_MISSING = object()
EVENTS = (frozenset({"nncourse.student_call", "open", "import", "compile", "code.__new__",
                     "sys._getframe", "object.__getattr__"}) | _PROCESS_EVENTS | _CTYPES_EVENTS | _INTROSPECTION
          | _FILE_EVENTS)


def _token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


class Guard:
    """An audit hook that keeps student code away from the bundle (see the module docstring).

    ``unlock(token)`` (first line of a hidden-test region, written by ``execute.py``) opens the
    bundle to the top-level code of *that* cell only: an access is allowed when the innermost
    frame that is not library code (stdlib, site-packages, the bundle) is top-level code of the
    unlocking cell's file, called by library code only.  A student function called by a check
    is not, so it stays blocked.
    """

    def __init__(self, bundle, kerneldir):
        real = os.path.realpath
        self.bundle = real(bundle) + os.sep
        self.files = (real(os.path.join(kerneldir, TOKENS_FILE)),
                      real(os.path.join(kerneldir, VIOLATIONS_FILE)))
        self.tokens_file, self.violations_file = self.files
        prefixes = [p for p in (sys.prefix, sys.base_prefix, sys.exec_prefix,
                                sys.base_exec_prefix) if p]
        lib = {real(p) for p in prefixes} | {os.path.abspath(p) for p in prefixes}
        self.lib = tuple(sorted(p.rstrip(os.sep) + os.sep for p in lib)) + (
            self.bundle, os.path.abspath(bundle).rstrip(os.sep) + os.sep)
        self._file = None             # the file name of the cell that unlocked (None: locked)
        self._globals = None          # that cell's namespace
        self._saved = None            # that cell's globals before the hidden lines ran
        self._tls = threading.local()
        self._lib_cache = {}
        self._real = real
        self._depth, self._stash_modules, self._stash_names = 0, {}, {}
        self._originals = {"audit": sys.audit, "getframe": sys._getframe}
        self._open = open
        self._json = json.dumps

    # -- called by the rewritten hidden-test cell ------------------------------------------
    def unlock(self, token):
        with self._inside():
            caller = self._originals["getframe"](2)   # the cell (frame 1 is the facade)
            ok = self._spend(str(token)) and caller.f_code.co_name == "<module>" and \
                not self._student_below(caller)
            if not ok:
                self._record("unlock", "unlock with an unknown token or from student code")
                raise PermissionError("nncourse: the grader's guard refused to unlock")
            sys.audit = self._originals["audit"]       # compare.py captures it at import
            self._depth, self._stash_modules, self._stash_names = 0, {}, {}
            self._file = caller.f_code.co_filename
            self._globals = caller.f_globals
            self._saved = dict(caller.f_globals)

    def lock(self, exc=None):
        with self._inside():
            if self._depth:
                self._depth = 1
                self._student_call(False)
            g, saved = self._globals, self._saved
            self._file = self._globals = self._saved = None
            for name in [n for n in sys.modules if n.split(".")[0] in GUARDED_MODULES]:
                del sys.modules[name]
            if g is not None and saved is not None:           # undo the hidden lines' names
                for key in [k for k in g if k not in saved]:
                    del g[key]
                for key, value in saved.items():
                    if g.get(key, value) is not value:
                        g[key] = value
            seen = set()
            while exc is not None and id(exc) not in seen:     # no frames of the checks leak
                seen.add(id(exc))
                exc.__traceback__ = None
                exc = exc.__context__ or exc.__cause__

    # -- internals -------------------------------------------------------------------------
    class _Inside:
        def __init__(self, tls):
            self.tls = tls

        def __enter__(self):
            self.was = getattr(self.tls, "busy", False)
            self.tls.busy = True

        def __exit__(self, *exc):
            self.tls.busy = self.was

    def _inside(self):
        return self._Inside(self._tls)

    def _spend(self, token):
        digest = _token_hash(token)
        try:
            with self._open(self.tokens_file, encoding="ascii") as f:
                hashes = f.read().split()
        except OSError:
            return False
        if digest not in hashes:
            return False
        hashes.remove(digest)
        with self._open(self.tokens_file, "w", encoding="ascii") as f:
            f.write("".join(h + "\n" for h in hashes))
        return True

    def _record(self, kind, detail):
        try:
            with self._open(self.violations_file, "a", encoding="utf-8") as f:
                f.write(self._json({"kind": kind, "detail": str(detail)[:300]}) + "\n")
        except OSError:
            pass

    def _is_lib(self, filename):
        hit = self._lib_cache.get(filename)
        if hit is None:
            hit = filename.startswith("<frozen") or filename.startswith(self.lib)
            self._lib_cache[filename] = hit
        return hit

    def _student_frame(self, frame):
        """The innermost frame from ``frame`` outwards that is not library code (or None)."""
        while frame is not None:
            if not self._is_lib(frame.f_code.co_filename):
                return frame
            frame = frame.f_back
        return None

    def _student_below(self, frame):
        """Whether student code called ``frame`` (a non-library frame further out)."""
        return self._student_frame(frame.f_back) is not None

    def _direct_caller(self, frame, skip):
        """The first frame outwards whose file is not one of ``skip`` (path fragments)."""
        while frame is not None and (frame.f_code.co_filename.startswith("<frozen") or any(
                s in frame.f_code.co_filename for s in skip)):
            frame = frame.f_back
        return frame

    def _is_cell(self, frame):
        """Whether ``frame`` is top-level code of the cell that unlocked, run by IPython.

        (IPython runs each top-level statement of a cell as its own code object, all with the
        cell's file name; a student's function compiled under that name is not top-level code
        called by library code only.)"""
        return self._file is not None and frame is not None and \
            frame.f_code.co_filename == self._file and frame.f_code.co_name == "<module>" and \
            not self._student_below(frame)

    def _trusted(self, frame):
        return self._file is not None and self._is_cell(self._student_frame(frame))

    def _is_student(self, frame):
        return frame is not None and not self._is_lib(frame.f_code.co_filename) and \
            not self._is_cell(frame)

    def _protected(self, path):
        if isinstance(path, int) or path is None:
            return None
        try:
            path = self._real(os.fsdecode(path))
        except (TypeError, ValueError):
            return None
        if path.startswith(self.bundle) or path + os.sep == self.bundle:
            rel = path[len(self.bundle):]
            if rel.startswith("__pycache__" + os.sep):
                rel = rel.split(os.sep, 1)[1].split(".", 1)[0] + ".py"
            return None if rel in PUBLIC else "bundle"
        if path in self.files:
            return "guard"
        parts = path.split(os.sep)
        if len(parts) == 4 and parts[1] == "proc" and parts[3] == "mem":
            return "memory"
        return None

    def hook(self, event, args):
        if event not in EVENTS or getattr(self._tls, "busy", False):
            return
        self._tls.busy = True
        try:
            problem = self._check(event, args, self._originals["getframe"](1))
        finally:
            self._tls.busy = False
        if problem is not None:
            kind, detail, record, error = problem
            if record:
                with self._inside():
                    self._record(kind, detail)
            raise error(f"nncourse: {detail} is not allowed while grading")

    def _student_call(self, enter):
        """Around a check's call of student code: hide the bundle's modules and the names the
        hidden lines bound, so the student's function cannot simply look them up."""
        if enter:
            self._depth += 1
            if self._depth > 1:
                return
            names = [n for n in sys.modules if n.split(".")[0] in GUARDED_MODULES]
            self._stash_modules = {n: sys.modules.pop(n) for n in names}
            self._stash_names = {}
            if self._globals is not None and self._saved is not None:
                g = self._globals
                for key in [k for k in g if g[k] is not self._saved.get(k, _MISSING)]:
                    self._stash_names[key] = g[key]
                    if key in self._saved:
                        g[key] = self._saved[key]
                    else:
                        del g[key]
        else:
            self._depth = max(0, self._depth - 1)
            if self._depth:
                return
            sys.modules.update(self._stash_modules)
            if self._globals is not None:
                self._globals.update(self._stash_names)
            self._stash_modules, self._stash_names = {}, {}

    def _check(self, event, args, frame):
        if event == "nncourse.student_call":
            self._student_call(bool(args[0]))
            return None
        if event == "open":
            what = self._protected(args[0])
            if what is None:
                return None
            if what == "bundle" and self._trusted(frame):
                return None
            student = self._student_frame(frame) is not None
            return ("open", f"open {args[0]}", student, PermissionError)
        if event == "import":
            name = str(args[0])
            if name.split(".")[0] not in GUARDED_MODULES or self._trusted(frame):
                return None
            return ("import", f"import {name}", True, ImportError)
        if event in _FILE_EVENTS:
            if any(isinstance(a, (str, bytes, os.PathLike)) and self._protected(a)
                   for a in args[:2]):
                return ("file", f"{event} {args[0]}", True, PermissionError)
            return None
        if event == "sys._getframe" or event == "object.__getattr__":
            if event == "object.__getattr__" and args[1] not in ("tb_frame", "gi_frame",
                                                                "cr_frame", "ag_frame"):
                return None
            if self._file is not None:      # unlocked: no student code may look at frames
                if self._is_student(self._student_frame(frame)):
                    return ("introspection", f"{event} {args[1] if len(args) > 1 else ''}"
                            .strip(), True, PermissionError)
                return None
            if event == "sys._getframe":
                return None                 # locked: nothing of the grader's on the stack
            direct = self._direct_caller(frame, ("/inspect.py",))
            if self._is_student(direct):
                return ("introspection", f"{event} {args[1] if len(args) > 1 else ''}".strip(),
                        True, PermissionError)
            return None
        if event in _INTROSPECTION:
            if self._is_student(self._student_frame(frame)):
                return ("introspection", event, True, PermissionError)
            return None
        if event == "compile" or event == "code.__new__":
            direct = frame              # compile()/CodeType() called by this very frame
            if event == "compile" and self._file is not None and not self._is_student(direct) \
                    and isinstance(args[1], str) and args[1] != self._file and \
                    os.path.dirname(args[1]) == os.path.dirname(self._file):
                self.lock()             # IPython compiles the next cell: the hidden lines are over
            if not self._is_student(direct):
                return None
            if event == "compile" and self._file is not None and args[1] == self._file:
                return ("code", "compile as the hidden-test cell", True, PermissionError)
            if event == "code.__new__":
                return ("code", "building a code object", True, PermissionError)
            filename = args[1]
            if isinstance(filename, (str, bytes)) and self._is_lib(os.fsdecode(filename)):
                return ("code", f"compile as {os.fsdecode(filename)}", True, PermissionError)
            return None
        if event in _PROCESS_EVENTS:      # a child process would have no audit hook
            direct = self._direct_caller(frame, ("/subprocess.py", "/os.py", "/pty.py"))
            record = self._is_student(self._student_frame(frame)) and not (
                direct is not None and "/matplotlib/" in direct.f_code.co_filename)
            return ("process", f"start a process {args[0]!r}"[:200], record, PermissionError)
        if event in _CTYPES_EVENTS:
            direct = self._direct_caller(frame, ("/ctypes/",))
            if self._is_student(direct):
                return ("ctypes", event, True, PermissionError)
            return None
        return None


def install_guard(bundle, kerneldir):
    """Install the guard (for the life of the process) as builtins ``__nncourse_guard__``."""
    import builtins
    guard = Guard(bundle, kerneldir)
    sys.addaudithook(guard.hook)
    builtins.__nncourse_guard__ = _facade(guard)
    return guard


def _facade(guard):
    """What student code can see: two functions, not the guard's state as attributes."""
    class GuardFacade:
        __slots__ = ()

        @staticmethod
        def unlock(token):
            guard.unlock(token)

        @staticmethod
        def lock(exc=None):
            guard.lock(exc)

        def __repr__(self):
            return "<nncourse grading guard>"
    return GuardFacade()


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


def _kernel_dir(argv):
    for i, arg in enumerate(argv):
        if arg == "-f" and i + 1 < len(argv):
            return os.path.dirname(os.path.abspath(argv[i + 1]))
        if arg.startswith("--f="):
            return os.path.dirname(os.path.abspath(arg[4:]))
    return None

if __name__ == "__main__":
    sys.modules["_nncourse_boot"] = sys.modules["__main__"]
    if sys.path and sys.path[0] in ("", "."):
        del sys.path[0]
    if os.environ.get("NNCOURSE_GUARD") and _kernel_dir(sys.argv):
        install_guard(os.path.dirname(os.path.abspath(__file__)), _kernel_dir(sys.argv))
    if os.environ.get("NNCOURSE_MAX_OUTPUT_CHARS"):
        cap_output(int(os.environ["NNCOURSE_MAX_OUTPUT_CHARS"]))
    from ipykernel import kernelapp
    kernelapp.launch_new_instance()
