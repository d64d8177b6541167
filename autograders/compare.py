"""Comparison helpers for the hidden tests: named tolerances, clear failures, safe calls.

A hidden test cell is one or two lines calling a check of ``autograders.<assignment>``;
those checks are built from the helpers here.  A failed check raises ``CheckFailed`` whose
message (Japanese, from ``messages``) says which check failed, on what input, expected
versus got, and a hint -- never the solution.  Inside IPython the exception is shown as
that message alone, without a traceback into this package.
"""
import contextlib
import io
import sys
import warnings

import numpy as np

from . import messages as M

# the grading guard (nncourse/kernel_boot.py) hides the reference and the hidden tests from the
# student's code while it runs; sys.audit is captured here, when the guard has just restored it
_audit = sys.audit

# Named tolerances: (rtol, atol) for np.allclose-style comparisons, each with its reason.
TOLERANCES = {
    "exact": (0.0, 0.0),          # integers, shapes, counts
    "float": (1e-5, 1e-8),        # one float computation written another way (loops, float32 input)
    "float32": (1e-4, 1e-6),      # answers a student may compute in float32
    "numerical": (1e-4, 1e-7),    # central differences: the same h, but another order of operations
    "training": (0.0, 0.02),      # accuracies of a training run with another random stream
}


class CheckFailed(AssertionError):
    """A hidden or visible check failed; ``str(exc)`` is the whole student-facing message."""


def fail(check, problem, **details):
    """Raise ``CheckFailed`` with a message rendered by ``messages.render``."""
    raise CheckFailed(M.render(check, problem, **details))


def fmt(x, max_items=12):
    """Short, readable text of a value for messages (arrays are abbreviated)."""
    if isinstance(x, np.ndarray) or isinstance(x, (list, tuple)) and len(x) and \
            not isinstance(x[0], str):
        try:
            a = np.asarray(x)
            with np.printoptions(precision=6, threshold=max_items, edgeitems=3,
                                 suppress=False, linewidth=100):
                text = np.array2string(a, separator=", ")
            return f"{text} (shape {a.shape})" if a.ndim >= 1 and a.size > 1 else text
        except Exception:
            pass
    if isinstance(x, (float, np.floating)):
        return repr(float(x))
    return repr(x)


@contextlib.contextmanager
def quiet():
    """Silence NumPy warnings and stderr: nbgrader scores any stderr output as a failure."""
    err = io.StringIO()
    with warnings.catch_warnings(), np.errstate(all="ignore"), \
            contextlib.redirect_stderr(err):
        warnings.simplefilter("ignore")
        yield err


def call_student(check, func, *args, desc=None, **kwargs):
    """Call the student's ``func``; turn an exception into a clear ``CheckFailed``."""
    if not callable(func):
        fail(check, f"{func!r} は関数ではありません。", desc=desc)
    try:
        with quiet():
            _audit("nncourse.student_call", True)
            try:
                return func(*args, **kwargs)
            finally:
                _audit("nncourse.student_call", False)
    except NotImplementedError:
        fail(check, M.NOT_IMPLEMENTED)
    except CheckFailed:
        raise
    except Exception as exc:  # the student's bug becomes feedback, not a crash
        fail(check, M.RAISED.format(etype=type(exc).__name__, evalue=exc), desc=desc)


def as_array(check, got, desc=None):
    """The student's return value as an ndarray, or ``CheckFailed`` if it is not numeric."""
    if got is None:
        fail(check, M.RETURNED_NONE, desc=desc)
    try:
        a = np.asarray(got)
    except Exception:
        a = None
    if a is None or a.dtype.kind not in "biufc":
        fail(check, M.NOT_NUMERIC.format(got_type=type(got).__name__), desc=desc)
    return a


def assert_close(check, got, expected, *, desc=None, tol="float", hint=None,
                 check_kind=True):
    """Compare a student's value with the reference: shape, dtype kind, NaN/inf, then values.

    ``tol`` names an entry of ``TOLERANCES``.  ``hint`` is a string, or a function
    (got_array, expected_array) -> str or None that recognises a typical mistake.
    """
    rtol, atol = TOLERANCES[tol]
    exp = np.asarray(expected)
    a = as_array(check, got, desc)
    if a.shape != exp.shape and not (a.size == 1 and exp.size == 1):
        fail(check, M.WRONG_SHAPE.format(expected=exp.shape, got=a.shape), desc=desc,
             hint=_hint(hint, a, exp))
    if check_kind and exp.dtype.kind == "f" and a.dtype.kind not in "f":
        fail(check, M.WRONG_KIND.format(expected=M.KIND_NAMES["f"],
                                        got=M.KIND_NAMES.get(a.dtype.kind, str(a.dtype))),
             desc=desc, expected=fmt(expected), got=fmt(got),
             hint="整数の配列では小数が切り捨てられます。float に変換してください。")
    a = a.reshape(exp.shape).astype(np.float64) if a.dtype.kind != "c" else a.reshape(exp.shape)
    if np.isnan(a).any() and not np.isnan(exp).any():
        fail(check, M.HAS_NAN, desc=desc, expected=fmt(expected), got=fmt(got),
             hint=_hint(hint, a, exp))
    if np.isinf(a).any() and not np.isinf(exp).any():
        fail(check, M.HAS_INF, desc=desc, expected=fmt(expected), got=fmt(got),
             hint=_hint(hint, a, exp))
    with quiet():
        ok = np.allclose(a, exp, rtol=rtol, atol=atol, equal_nan=True)
        err = float(np.nanmax(np.abs(a - exp))) if a.size else 0.0
    if not ok:
        fail(check, M.NOT_CLOSE, desc=desc, expected=fmt(expected), got=fmt(got),
             extra=[M.MAX_ERROR.format(err=err, rtol=rtol, atol=atol)],
             hint=_hint(hint, a, exp))
    return a


def assert_unchanged(check, before, after, arg, desc=None):
    """The student's function must leave its argument as it found it."""
    if not np.array_equal(np.asarray(before), np.asarray(after)):
        fail(check, M.INPUT_CHANGED.format(arg=arg), desc=desc,
             expected=fmt(before), got=fmt(after))


def require(check, condition, what, *, desc=None, expected=None, got=None, hint=None):
    """Fail with the message ``what`` unless ``condition`` holds."""
    if not condition:
        fail(check, M.CONDITION.format(what=what), desc=desc, expected=expected,
             got=got, hint=hint)


def _hint(hint, got, expected):
    if callable(hint):
        try:
            with quiet():
                return hint(got, expected)
        except Exception:
            return None
    return hint


def _register_ipython_handler():
    """In a notebook, show ``CheckFailed`` as its message only (no traceback, no test code)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return

    def show_message(shell, etype, value, tb, tb_offset=None):
        stb = [f"{etype.__name__}: {value}"]
        shell._showtraceback(etype, value, stb)   # IPython discards the return value: show it
        return stb

    shell.set_custom_exc((CheckFailed,), show_message)


_register_ipython_handler()


@contextlib.contextmanager
def preserve_np_random():
    """Restore NumPy's global random state afterwards: a hidden check that builds the
    student's network (np.random.randn) must not change the notebook's later random numbers."""
    state = np.random.get_state()
    try:
        yield
    finally:
        np.random.set_state(state)
