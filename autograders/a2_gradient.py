"""Hidden checks of a2_gradient 「数値微分と勾配」: against reference/differentiation.

``check_numerical_diff`` and the ``check_numerical_gradient*`` checks run the student's
function on fixed test functions and points (the slides' f(x0, x1) = x0² + x1² at (3, 4),
non-separable functions, weight matrices, integer input), compare with the reference and
raise ``CheckFailed`` with a Japanese message at the first difference.  Forward differences,
a too-small h, a sign error, ``/2*h`` and an x that is not restored are recognised.

The checks run in the grader: the student's functions are ``Remote`` handles, and the
functions ``f`` handed to them are public test functions (``testfuncs``, as ``Public``),
which the grader also calls itself for the expected values and the hints.  Each check
sends its calls to the kernel in one or two round trips.
"""
import numpy as np

from reference import differentiation as ref

from . import messages as M
from .compare import (CheckFailed, Public, Remote, StudentError, assert_close, call_many,
                      fail, fmt, quiet, student_failure, value_of)
from .compare import rng as compare_rng

H = ref.H  # the lecture's h = 1e-4

HINTS = {
    "forward": "前方差分 (f(x+h) - f(x)) / h になっていませんか？ 誤差を小さくするため、"
               "中心差分 (f(x+h) - f(x-h)) / (2h) を使ってください。",
    "backward": "後方差分 (f(x) - f(x-h)) / h になっていませんか？ "
                "中心差分 (f(x+h) - f(x-h)) / (2h) を使ってください。",
    "tiny_h": "結果が 0 です。h が小さすぎると x + h が x と同じ数に丸められ (丸め誤差)、"
              "差が 0 になります。h = 1e-4 (0.0001) くらいを使ってください。",
    "parens": "/ 2*h は (… / 2) * h と計算されます。/ (2*h) と括弧を付けてください。",
    "no_two": "2h ではなく h で割っていませんか？ x-h から x+h までの幅は 2h です。",
    "diff_formula": "中心差分 (f(x+h) - f(x-h)) / (2*h), h = 1e-4 で計算してください。",
    "tmp1": "function_tmp1(x0) は x1 = 4.0 に固定した関数 x0**2 + 4.0**2 です。",
    "tmp2": "function_tmp2(x1) は x0 = 3.0 に固定した関数 3.0**2 + x1**2 です。",
    "tmp1_swapped": "function_tmp1 では x1 を 3.0 に固定していませんか？ x1 = 4.0 に固定します。",
    "tmp2_swapped": "function_tmp2 では x0 を 4.0 に固定していませんか？ x0 = 3.0 に固定します。",
    "grad_sign": "符号が逆です。f(x+h) - f(x-h) の順に引いていますか？",
    "grad_half": "f(x+h) と、ずらしていない f(x) の差を 2h で割った値です。"
                 "中心差分では x[idx] を -h ずらした f(x-h) を使います。",
    "grad_formula": "各要素 x[idx] だけを ±h ずらして f を 2 回計算し、"
                    "(f(x+h) - f(x-h)) / (2*h) を grad[idx] に入れます。他の要素は元の値のままです。",
    "restore": "ずらした要素を元に戻していません。各要素の計算の最後に x[idx] = tmp_val で"
               "元の値に戻してください (戻さないと、次の要素の計算も呼び出し元の x も狂います)。",
    "matrix": "x が行列 (2 次元) のとき、x[idx] (idx は整数) は 1 行全体になります。"
              "np.nditer(x, flags=['multi_index']) などで、すべての要素 x[i, j] を 1 つずつ"
              "ずらしてください。",
    "integer": "整数の配列では x[idx] = tmp_val + h が切り捨てられ (3.0001 → 3)、勾配が狂います。"
               "float の配列に変換してから計算するか、整数の配列ならエラーにしてください。",
    "float_result": "勾配は float の配列で返してください (grad = np.zeros_like(x) は x が整数だと"
                    "整数の配列になります)。",
    "field_sign": "矢印は勾配そのもの ∇f ではなく、マイナスを付けた -∇f (f が低くなる方向) です。",
    "field": "arrows[i] は点 points[i] での -∇f (勾配にマイナスを付けたもの) です。",
    "points_changed": "points が書き換えられています。numerical_gradient はずらした要素を"
                      "元に戻していますか？",
}


# --- helpers ----------------------------------------------------------------------------------
def _close(a, b, rtol=1e-6, atol=1e-9):
    with np.errstate(all="ignore"):
        return np.allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64),
                           rtol=rtol, atol=atol)


def _unchanged(before, after):
    """x as it was: exactly for integers; for floats up to rounding (x += h; x -= h is fine)."""
    if np.shape(before) != np.shape(after):
        return False
    if np.asarray(before).dtype.kind != "f":
        return np.array_equal(before, after)
    return _close(after, before, rtol=1e-12, atol=1e-12)


def _scaled(expected, factor):
    return np.asarray(expected, dtype=np.float64) * factor


def _run_with_args(check, func, calls):
    """``[(args, desc)]`` of ``func`` in one round trip; each (value, [args after the call])
    or the ``CheckFailed`` of the student's exception (returned, not raised)."""
    results = func.student.run([func.op(*args, return_args=True) for args, _ in calls])
    return [student_failure(check, r, desc) if isinstance(r, StudentError) else r
            for (_, desc), r in zip(calls, results)]


# --- 数値微分 ---------------------------------------------------------------------------------
FUNCTION_2 = Public("function_2")   # the slides' f(x0, x1) = x0² + x1²

DIFF_CASES = [  # (text of f, f, x); the first two are the slides' partial derivatives
    ("f(x) = x**2 + 4.0**2", Public("diff_tmp1"), 3.0),
    ("f(x) = 3.0**2 + x**2", Public("diff_tmp2"), 4.0),
    ("f(x) = 0.01*x**2 + 0.1*x", Public("diff_quadratic"), 5.0),
    ("f(x) = x**2", Public("diff_square"), 0.1),
    ("f(x) = x**3", Public("diff_cube"), 1),          # an int x
    ("f(x) = np.sin(x)", Public("diff_sin"), 1.0),
    ("f(x) = np.exp(x)", Public("diff_exp"), -2.0),
    ("f(x) = 1 / x", Public("diff_reciprocal"), 0.5),
]


def _diff_hint(f, x):
    """Recognise a forward/backward difference, a rounded-away h, ``/2*h`` or ``/h``."""
    fwd = (f(x + H) - f(x)) / H
    bwd = (f(x) - f(x - H)) / H

    def hint(got, expected):
        if _close(got, fwd):
            return HINTS["forward"]
        if _close(got, bwd):
            return HINTS["backward"]
        if float(np.ravel(got)[0]) == 0.0:
            return HINTS["tiny_h"]
        if _close(got, _scaled(expected, H * H), atol=0):
            return HINTS["parens"]
        if _close(got, _scaled(expected, 2), atol=0):
            return HINTS["no_two"]
        return HINTS["diff_formula"]
    return hint


# the notebook's visible cases with their bound |d - f'(x)| < 1e-6 against the exact derivative
# (h = 1e-4 is ~1e-8 off; h = 1e-3 is 1e-6 off on x**3): the grader covers what they check
VISIBLE_DIFF_CASES = [("f(x) = x**2", Public("diff_square"), 3.0, 6.0),
                      ("f(x) = 0.01*x**2 + 0.1*x", Public("diff_quadratic"), 5.0, 0.2),
                      ("f(x) = x**3", Public("diff_cube"), 1.0, 3.0)]


def check_numerical_diff(numerical_diff):
    """numerical_diff(f, x): central difference with h = 1e-4 at a scalar x (float or int).

    The values are compared with the reference with rtol 1e-5: a forward difference
    (error ~ h f''/2) fails on the curved functions, another h near 1e-4 passes; and the
    visible cases within 1e-6 of the exact derivative (``VISIBLE_DIFF_CASES``).
    """
    check = "数値微分 numerical_diff"
    cases = [(text, f, x, ref.numerical_diff(f, x), "float") for text, f, x in DIFF_CASES] + \
        [(text, f, x, exact, "derivative") for text, f, x, exact in VISIBLE_DIFF_CASES]
    descs = [f"{text}, x = {x!r}" for text, _, x, _, _ in cases]
    results = call_many(check, [(numerical_diff, (f, x), desc)
                                for (_, f, x, _, _), desc in zip(cases, descs)])
    for (_, f, x, expected, tol), desc, got in zip(cases, descs, results):
        if isinstance(got, CheckFailed):
            raise got
        assert_close(check, got, expected, desc=desc, tol=tol, hint=_diff_hint(f, x))


# --- 偏微分 -----------------------------------------------------------------------------------
def _partial_hint(key, swapped_value):
    """The other variable fixed at the wrong value (x1 = 3.0 / x0 = 4.0), else the formula."""
    def hint(got, expected):
        if np.size(got) == 1 and _close(got, swapped_value, rtol=1e-9, atol=1e-12):
            return HINTS[key + "_swapped"]
        return HINTS[key]
    return hint


def check_partial_derivatives(function_tmp1, function_tmp2):
    """function_tmp1(x0) = x0² + 4.0², function_tmp2(x1) = 3.0² + x1² (x1, x0 fixed).

    Checks the functions' values at several points and that the reference numerical_diff
    of them at 3.0 and 4.0 gives 6 and 8 (the slides: 6.00000000000378, 7.999999999999119):
    the central difference is computed here from the values f(at + h), f(at - h) the
    student's function returns.  All the calls go to the kernel in one round trip.
    """
    check = "偏微分 function_tmp1, function_tmp2"
    specs = [(function_tmp1, "function_tmp1", lambda v: v * v + 16.0, "tmp1", 3.0, 6.0),
             (function_tmp2, "function_tmp2", lambda v: 9.0 + v * v, "tmp2", 4.0, 8.0)]
    swapped = {"tmp1": lambda v: v * v + 9.0, "tmp2": lambda v: 16.0 + v * v}
    calls = []
    for func, name, _, _, at, _ in specs:
        calls += [(func, (v,), f"{name}({v!r})") for v in (0.0, 1.0, at, -2.5, 10.0)]
        desc = f"numerical_diff({name}, {at!r}) (正解の numerical_diff で計算)"
        calls += [(func, (at + H,), desc), (func, (at - H,), desc)]
    results = call_many(check, calls)
    per = len(calls) // len(specs)
    for k, (_, _, exact, key, at, slope) in enumerate(specs):
        mine = list(zip(calls[k * per:(k + 1) * per], results[k * per:(k + 1) * per]))
        for (_, (v,), desc), got in mine[:-2]:
            if isinstance(got, CheckFailed):
                raise got
            assert_close(check, got, exact(v), desc=desc, tol="float",
                         hint=_partial_hint(key, swapped[key](v)))
        (_, _, desc), f_plus = mine[-2]
        f_minus = mine[-1][1]
        for got in (f_plus, f_minus):
            if isinstance(got, CheckFailed):
                raise got
        try:                                # the reference's (f(x+h) - f(x-h)) / (2h)
            with quiet():
                with_ref = (f_plus - f_minus) / (2 * H)
        except Exception as exc:            # e.g. lists: as the reference would have raised
            fail(check, M.RAISED.format(etype=type(exc).__name__, evalue=exc), desc=desc)
        assert_close(check, with_ref, slope, desc=desc, tol="numerical", hint=HINTS[key])


# --- 勾配 -------------------------------------------------------------------------------------
def _grad_hint(f, x, fallback):
    """Recognise a sign error, forward differences and (f(x+h) - f(x)) / 2h (element by
    element)."""
    def hint(got, expected):
        if _close(got, -np.asarray(expected), atol=1e-6):
            return HINTS["grad_sign"]
        fwd = np.zeros(x.shape)
        xx = x.astype(np.float64)
        for idx in np.ndindex(x.shape):
            xh = xx.copy()
            xh[idx] += H
            fwd[idx] = (f(xh) - f(xx)) / H
        if _close(got, fwd, rtol=1e-6, atol=1e-8):
            return HINTS["forward"]
        if _close(got, fwd / 2, rtol=1e-6, atol=1e-8):
            return HINTS["grad_half"]
        return fallback
    return hint


def _check_gradient_cases(check, numerical_gradient, cases, *, fallback, on_error=None):
    """Each case (text of f, f, x): same values as the reference, float result, x unchanged.

    All the calls in one round trip; x as it was after each call comes back with its result."""
    descs = [f"{text}, x = {fmt(x)}" for text, _, x in cases]
    results = _run_with_args(check, numerical_gradient,
                             [((f, x), desc) for (_, f, x), desc in zip(cases, descs)])
    for (_, f, x), desc, result in zip(cases, descs, results):
        before = x
        if isinstance(result, CheckFailed):
            if on_error is None or M.NOT_IMPLEMENTED in str(result):
                raise result
            raise CheckFailed(f"{result}\n" + M.HINT.format(hint=on_error))
        got, (_, arg) = result
        if not _unchanged(before, arg):
            fail(check, M.INPUT_CHANGED.format(arg="x"), desc=desc, expected=fmt(before),
                 got=fmt(arg), hint=HINTS["restore"])
        a = np.asarray(got) if got is not None else None
        if a is not None and a.dtype.kind in "iub":
            fail(check, M.WRONG_KIND.format(expected=M.KIND_NAMES["f"],
                                            got=M.KIND_NAMES[a.dtype.kind]),
                 desc=desc, got=fmt(got), hint=HINTS["float_result"])
        assert_close(check, got, ref.numerical_gradient(f, x.copy()), desc=desc,
                     tol="float", hint=_grad_hint(f, x, fallback))


def check_numerical_gradient(numerical_gradient):
    """numerical_gradient(f, x) for vectors: the slides' (6, 8) at (3, 4), and more.

    Float vectors of length 2, 3 and 5; f = x0² + x1², a non-separable log-sum-exp and a
    function of products.  The result must be float, equal the reference, and x unchanged.
    """
    check = "勾配 numerical_gradient (ベクトル)"
    rng = compare_rng(5)
    cases = [("f(x) = x[0]**2 + x[1]**2", FUNCTION_2, np.array([3.0, 4.0])),
             ("f(x) = x[0]**2 + x[1]**2", FUNCTION_2, np.array([0.0, 2.0])),
             ("f(x) = x[0]**2 + x[1]**2", FUNCTION_2, np.array([3.0, 0.0])),
             ("f(x) = log(Σ exp(x))", Public("grad_logsumexp"), rng.normal(size=5)),
             ("f(x) = x[0] * x[1] * x[2] + np.sum(np.sin(x))",
              Public("grad_product_sin"), rng.normal(size=3))]
    _check_gradient_cases(check, numerical_gradient, cases, fallback=HINTS["grad_formula"])


def check_numerical_gradient_matrix(numerical_gradient):
    """numerical_gradient(f, W) for weight matrices: shape of W, reference values, W unchanged.

    W of shapes (2, 3) (the slides' simpleNet: f(W) = cross-entropy of softmax(x @ W)),
    (3, 2), (1, 4) and (4, 1), with f's that read every element of their argument.
    """
    check = "勾配 numerical_gradient (重み行列)"
    rng = compare_rng(6)
    rng.normal(size=(3, 2))    # C (testfuncs.TANH_C, fixed) was this draw when not grading
    logsumexp = Public("grad_logsumexp")
    cases = [("f(W) = np.sum(W**2)", FUNCTION_2, np.arange(6.0).reshape(2, 3) - 2.5),
             ("simpleNet の損失 f(W) (x = [0.6, 0.9], t = [0, 0, 1])",
              Public("grad_simple_net_loss"), rng.normal(size=(2, 3))),
             ("f(W) = np.sum(C * np.tanh(W))", Public("grad_tanh_weighted"),
              rng.normal(size=(3, 2))),
             ("f(W) = log(Σ exp(W))", logsumexp, rng.normal(size=(1, 4))),
             ("f(W) = log(Σ exp(W))", logsumexp, rng.normal(size=(4, 1)))]
    _check_gradient_cases(check, numerical_gradient, cases, fallback=HINTS["matrix"],
                          on_error=HINTS["matrix"])


def _right_for_float(got, x):
    """``got`` (the student's gradient of np.sum(x**2) at the float x) is 2x (no exception)."""
    if isinstance(got, (StudentError, Remote)):
        return False
    try:
        with quiet():
            return _close(got, 2.0 * x, rtol=1e-5, atol=1e-8) and np.shape(got) == x.shape
    except Exception:
        return False


def check_numerical_gradient_int(numerical_gradient):
    """Integer x must not be truncated silently: either the right float gradient, or an error.

    numerical_gradient(function_2, np.array([3, 4])) may return ≈ [6., 8.] (float) or raise
    TypeError/ValueError; x must stay unchanged either way.  Then the same for a matrix.
    The vector is always judged (the test cell's visible asserts judge it too, and they
    do not count any more); the matrix only if the student's function gets its float
    version right (a 1-D-only loop loses the matrix points, not this one too).
    Two round trips: the float versions, then the integer ones.
    """
    check = "勾配 numerical_gradient (整数の配列)"
    xs = [np.array([3, 4]), np.array([[1, -2], [0, 3]])]
    floats = numerical_gradient.student.run(
        [numerical_gradient.op(FUNCTION_2, x.astype(np.float64)) for x in xs])
    right = [_right_for_float(got, x.astype(np.float64)) for x, got in zip(xs, floats)]
    cases = [(x, ok) for i, (x, ok) in enumerate(zip(xs, right)) if ok or i == 0]
    descs = [f"f(x) = np.sum(x**2), x = {fmt(x)} (整数の配列)" for x, _ in cases]
    results = _run_with_args(check, numerical_gradient,
                             [((FUNCTION_2, x), desc) for (x, _), desc in zip(cases, descs)])
    for (x, ok), desc, result in zip(cases, descs, results):
        hint = HINTS["integer"] if ok else _grad_hint(FUNCTION_2, x, HINTS["integer"])
        before, arg = x, x
        if isinstance(result, CheckFailed):
            text = str(result)
            if M.NOT_IMPLEMENTED in text or not ("TypeError" in text or "ValueError" in text):
                raise result
            got = None          # a clear error is fine (x after a raise does not come back)
        else:
            got, (_, arg) = result
        if not _unchanged(before, arg):
            fail(check, M.INPUT_CHANGED.format(arg="x"), desc=desc, expected=fmt(before),
                 got=fmt(arg), hint=HINTS["integer"])
        if got is None:
            continue
        a = np.asarray(got)
        if a.dtype.kind in "iub":
            fail(check, M.WRONG_KIND.format(expected=M.KIND_NAMES["f"],
                                            got=M.KIND_NAMES[a.dtype.kind]),
                 desc=desc, expected=fmt(2.0 * x), got=fmt(got), hint=HINTS["integer"])
        assert_close(check, got, 2.0 * x, desc=desc, tol="float", hint=hint)


# --- 勾配のグラフ -----------------------------------------------------------------------------
def _grid():
    """The exercise's points: the 18 × 18 grid of np.arange(-2, 2.5, 0.25), shape (324, 2)."""
    x0, x1 = np.meshgrid(np.arange(-2, 2.5, 0.25), np.arange(-2, 2.5, 0.25))
    return np.stack([x0.flatten(), x1.flatten()], axis=1)


def check_gradient_field(points, arrows):
    """arrows[i] = -∇f(points[i]) for f = x0² + x1²: arrows (N, 2) point to the origin.

    points must still be the exercise's grid (the test cell's visible asserts checked
    points[48]; they do not count any more): a numerical_gradient that does not restore
    x changes the rows of points it is given.
    """
    check = "勾配のグラフ arrows"
    points, arrows = value_of(check, points), value_of(check, arrows)
    try:
        p = np.asarray(points, dtype=np.float64)
    except Exception:
        kind = points.label if isinstance(points, Remote) else type(points).__name__
        fail(check, M.NOT_NUMERIC.format(got_type=kind), desc="points")
    grid = _grid()
    if not _unchanged(grid, p):
        fail(check, M.INPUT_CHANGED.format(arg="points"), desc="points (問題のセルで作った格子)",
             expected=fmt(grid), got=fmt(p), hint=HINTS["points_changed"])
    desc = f"points = {fmt(p)}"
    expected = -2.0 * p

    def hint(got, exp):
        same = np.shape(got) == np.shape(exp) and _close(got, -exp, atol=1e-6)
        return HINTS["field_sign"] if same else HINTS["field"]
    assert_close(check, arrows, expected, desc=desc, tol="numerical", hint=hint)
