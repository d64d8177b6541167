"""Comparison helpers for the hidden checks: named tolerances, clear failures, calls.

The checks run in the trusted grader process, never in the student's kernel.  A check
receives ``Remote`` handles (``nncourse.kernel.student``) for the names its test cell
lists and calls the student's code through them (``call_student``, ``call_many``,
``value_of``): arguments and results cross as plain data only.  A failed check raises
``CheckFailed`` whose message (Japanese, from ``messages``) says which check failed, on
what input, expected versus got, and a hint -- never the solution.
"""
import contextlib
import io
import warnings

import numpy as np

from nncourse.kernel.student import Public, Remote, StudentError  # noqa: F401 (for the checks)

from . import messages as M

# Named tolerances: (rtol, atol) for np.allclose-style comparisons, each with its reason.
TOLERANCES = {
    "exact": (0.0, 0.0),          # integers, shapes, counts
    "float": (1e-5, 1e-8),        # one float computation written another way (loops, float32 input)
    "float32": (1e-4, 1e-6),      # answers a student may compute in float32
    "numerical": (1e-4, 1e-7),    # central differences: the same h, but another order of operations
    "derivative": (0.0, 1e-6),    # a central difference (h = 1e-4) against the exact derivative
    "training": (0.0, 0.02),      # accuracies of a training run with another random stream
}


_SUBMISSION_SEED = None     # set per submission by the grader (nncourse/grade/worker.py)


def set_submission_seed(seed):
    """Draw the checks' random inputs from ``seed`` (an int only the grader knows; None: fixed)."""
    global _SUBMISSION_SEED
    _SUBMISSION_SEED = None if seed is None else int(seed)


def rng(n):
    """The random generator of a check's cases ``n``.  Fixed when not grading (unit tests);
    while grading, mixed with the submission's secret seed, so that random hidden inputs seen
    in one feedback cannot be answered from a table in the next submission."""
    return np.random.default_rng(n if _SUBMISSION_SEED is None else [n, _SUBMISSION_SEED])


class CheckFailed(AssertionError):
    """A hidden or visible check failed; ``str(exc)`` is the whole student-facing message."""


def fail(check, problem, **details):
    """Raise ``CheckFailed`` with a message rendered by ``messages.render``."""
    raise CheckFailed(M.render(check, problem, **details))


FMT_MAX_CHARS = 300         # text of one value in a message (a student's value may be huge)


def fmt(x, max_items=12):
    """Short, readable text of a value for messages (arrays are abbreviated, any text is cut
    to ``FMT_MAX_CHARS``)."""
    text = _fmt(x, max_items)
    return text if len(text) <= FMT_MAX_CHARS else text[:FMT_MAX_CHARS - 1] + "…"


def _fmt(x, max_items):
    if isinstance(x, str) and len(x) > FMT_MAX_CHARS:
        x = x[:FMT_MAX_CHARS]                  # never the repr of the whole string
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


def student_failure(check, exc, desc=None):
    """The ``CheckFailed`` for a ``StudentError`` (the student's code raised); it keeps the
    exception's type name as ``.etype`` for the checks' hints."""
    if exc.etype == "NotImplementedError":
        failed = CheckFailed(M.render(check, M.NOT_IMPLEMENTED))
    else:
        failed = CheckFailed(M.render(check, M.RAISED.format(etype=exc.etype, evalue=exc.message),
                                      desc=desc))
    failed.etype = exc.etype
    return failed


def call_student(check, func, *args, desc=None, **kwargs):
    """Call the student's ``func`` (a ``Remote``) in the kernel; its result as plain data.

    An exception in the student's code becomes a clear ``CheckFailed``."""
    if not isinstance(func, Remote):
        raise TypeError(f"call_student needs a Remote, not {type(func).__name__}")
    try:
        return func.call(*args, **kwargs)
    except StudentError as exc:
        raise student_failure(check, exc, desc) from None


def send(check, student, ops):
    """``[(op, desc)]`` (``Remote.op`` / ``get_op`` / ``set_op``) in one round trip: each
    result, or its ``CheckFailed`` (returned, not raised, so that the caller reports the first
    failure in its own order)."""
    if not ops:
        return []
    results = student.run([op for op, _ in ops])
    return [student_failure(check, r, desc) if isinstance(r, StudentError) else r
            for (_, desc), r in zip(ops, results)]


def call_many(check, calls):
    """``[(func, args, desc)]``: ``send`` of calls of ``func`` with positional ``args``."""
    return send(check, calls[0][0].student, [(func.op(*args), desc) for func, args, desc in calls]) \
        if calls else []


def value_of(check, remote, desc=None):
    """The current value of a student's variable (or attribute) as plain data."""
    try:
        return remote.value()
    except StudentError as exc:
        if exc.etype in ("NameError", "AttributeError", "KeyError"):
            raise CheckFailed(M.render(check, M.NOT_DEFINED.format(name=remote.label),
                                       desc=desc)) from None
        raise student_failure(check, exc, desc) from None


def as_array(check, got, desc=None):
    """The student's return value as an ndarray, or ``CheckFailed`` if it is not numeric."""
    if got is None:
        fail(check, M.RETURNED_NONE, desc=desc)
    try:
        a = np.asarray(got)
    except Exception:
        a = None
    if a is None or a.dtype.kind not in "biufc":
        kind = got.label if isinstance(got, Remote) else type(got).__name__
        fail(check, M.NOT_NUMERIC.format(got_type=kind), desc=desc)
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
