"""Hidden checks of a2_gradient 「数値微分と勾配」: against reference/differentiation.

``check_numerical_diff`` and the ``check_numerical_gradient*`` checks run the student's
function on fixed test functions and points (the slides' f(x0, x1) = x0² + x1² at (3, 4),
non-separable functions, weight matrices, integer input), compare with the reference and
raise ``CheckFailed`` with a Japanese message at the first difference.  Forward differences,
a too-small h, a sign error, ``/2*h`` and an x that is not restored are recognised.
"""
import numpy as np

from reference import differentiation as ref

from . import messages as M
from .compare import CheckFailed, assert_close, call_student, fail, fmt, quiet

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
    "grad_sign": "符号が逆です。f(x+h) - f(x-h) の順に引いていますか？",
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


# --- 数値微分 ---------------------------------------------------------------------------------
DIFF_CASES = [  # (text of f, f, x); the first two are the slides' partial derivatives
    ("f(x) = x**2 + 4.0**2", lambda x: x * x + 4.0 ** 2, 3.0),
    ("f(x) = 3.0**2 + x**2", lambda x: 3.0 ** 2 + x * x, 4.0),
    ("f(x) = 0.01*x**2 + 0.1*x", lambda x: 0.01 * x ** 2 + 0.1 * x, 5.0),
    ("f(x) = x**2", lambda x: x ** 2, 0.1),
    ("f(x) = x**3", lambda x: x ** 3, 1),          # an int x
    ("f(x) = np.sin(x)", np.sin, 1.0),
    ("f(x) = np.exp(x)", np.exp, -2.0),
    ("f(x) = 1 / x", lambda x: 1 / x, 0.5),
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


def check_numerical_diff(numerical_diff):
    """numerical_diff(f, x): central difference with h = 1e-4 at a scalar x (float or int).

    The values are compared with the reference with rtol 1e-5: a forward difference
    (error ~ h f''/2) fails on the curved functions, another h near 1e-4 passes.
    """
    check = "数値微分 numerical_diff"
    for text, f, x in DIFF_CASES:
        desc = f"{text}, x = {x!r}"
        got = call_student(check, numerical_diff, f, x, desc=desc)
        assert_close(check, got, ref.numerical_diff(f, x), desc=desc, tol="float",
                     hint=_diff_hint(f, x))


# --- 偏微分 -----------------------------------------------------------------------------------
def check_partial_derivatives(function_tmp1, function_tmp2):
    """function_tmp1(x0) = x0² + 4.0², function_tmp2(x1) = 3.0² + x1² (x1, x0 fixed).

    Checks the functions' values at several points and that the reference numerical_diff
    of them at 3.0 and 4.0 gives 6 and 8 (the slides: 6.00000000000378, 7.999999999999119).
    """
    check = "偏微分 function_tmp1, function_tmp2"
    for func, name, exact, key, at, slope in [
            (function_tmp1, "function_tmp1", lambda v: v * v + 16.0, "tmp1", 3.0, 6.0),
            (function_tmp2, "function_tmp2", lambda v: 9.0 + v * v, "tmp2", 4.0, 8.0)]:
        for v in (0.0, 1.0, at, -2.5, 10.0):
            desc = f"{name}({v!r})"
            got = call_student(check, func, v, desc=desc)
            assert_close(check, got, exact(v), desc=desc, tol="float", hint=HINTS[key])
        desc = f"numerical_diff({name}, {at!r}) (正解の numerical_diff で計算)"
        with_ref = call_student(check, ref.numerical_diff, func, at, desc=desc)
        assert_close(check, with_ref, slope, desc=desc, tol="numerical", hint=HINTS[key])


# --- 勾配 -------------------------------------------------------------------------------------
def function_2(x):
    """The slides' f(x0, x1) = x0² + x1² (any length)."""
    return np.sum(x ** 2)


def _logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def _simple_net_loss(x, t):
    """f(W) = cross-entropy of softmax(x @ W) against one-hot t, like the slides' simpleNet."""
    def f(W):
        a = np.dot(x, W)
        e = np.exp(a - a.max())
        y = e / e.sum()
        return -np.sum(t * np.log(y + 1e-7))
    return f


def _grad_hint(f, x, fallback):
    """Recognise a sign error and forward differences (element by element)."""
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
        return fallback
    return hint


def _check_gradient_cases(check, numerical_gradient, cases, *, fallback, on_error=None):
    """Each case (text of f, f, x): same values as the reference, float result, x unchanged."""
    for text, f, x in cases:
        desc = f"{text}, x = {fmt(x)}"
        before = x.copy()
        arg = x.copy()
        try:
            got = call_student(check, numerical_gradient, f, arg, desc=desc)
        except CheckFailed as exc:
            if on_error is None or M.NOT_IMPLEMENTED in str(exc):
                raise
            raise CheckFailed(f"{exc}\n" + M.HINT.format(hint=on_error)) from None
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
    rng = np.random.default_rng(5)
    cases = [("f(x) = x[0]**2 + x[1]**2", function_2, np.array([3.0, 4.0])),
             ("f(x) = x[0]**2 + x[1]**2", function_2, np.array([0.0, 2.0])),
             ("f(x) = x[0]**2 + x[1]**2", function_2, np.array([3.0, 0.0])),
             ("f(x) = log(Σ exp(x))", _logsumexp, rng.normal(size=5)),
             ("f(x) = x[0] * x[1] * x[2] + np.sum(np.sin(x))",
              lambda x: x[0] * x[1] * x[2] + np.sum(np.sin(x)), rng.normal(size=3))]
    _check_gradient_cases(check, numerical_gradient, cases, fallback=HINTS["grad_formula"])


def check_numerical_gradient_matrix(numerical_gradient):
    """numerical_gradient(f, W) for weight matrices: shape of W, reference values, W unchanged.

    W of shapes (2, 3) (the slides' simpleNet: f(W) = cross-entropy of softmax(x @ W)),
    (3, 2), (1, 4) and (4, 1), with f's that read every element of their argument.
    """
    check = "勾配 numerical_gradient (重み行列)"
    rng = np.random.default_rng(6)
    x_in, t_in = np.array([0.6, 0.9]), np.array([0, 0, 1])
    c32 = rng.normal(size=(3, 2))
    cases = [("f(W) = np.sum(W**2)", function_2, np.arange(6.0).reshape(2, 3) - 2.5),
             ("simpleNet の損失 f(W) (x = [0.6, 0.9], t = [0, 0, 1])",
              _simple_net_loss(x_in, t_in), rng.normal(size=(2, 3))),
             ("f(W) = np.sum(C * np.tanh(W))", lambda W: np.sum(c32 * np.tanh(W)),
              rng.normal(size=(3, 2))),
             ("f(W) = log(Σ exp(W))", _logsumexp, rng.normal(size=(1, 4))),
             ("f(W) = log(Σ exp(W))", _logsumexp, rng.normal(size=(4, 1)))]
    _check_gradient_cases(check, numerical_gradient, cases, fallback=HINTS["matrix"],
                          on_error=HINTS["matrix"])


def _right_for_float(numerical_gradient, x):
    """The student's gradient of np.sum(x**2) at a float x is 2x (no exception)."""
    try:
        with quiet():
            got = numerical_gradient(function_2, x.copy())
        return _close(got, 2.0 * x, rtol=1e-5, atol=1e-8) and np.shape(got) == x.shape
    except Exception:
        return False


def check_numerical_gradient_int(numerical_gradient):
    """Integer x must not be truncated silently: either the right float gradient, or an error.

    numerical_gradient(function_2, np.array([3, 4])) may return ≈ [6., 8.] (float) or raise
    TypeError/ValueError; x must stay unchanged either way.  Then the same for a matrix.
    A case whose float version the student's function already gets wrong is left to the
    vector and matrix checks (a 1-D-only loop loses the matrix points, not this one too).
    """
    check = "勾配 numerical_gradient (整数の配列)"
    for x in (np.array([3, 4]), np.array([[1, -2], [0, 3]])):
        if not _right_for_float(numerical_gradient, x.astype(np.float64)):
            continue
        desc = f"f(x) = np.sum(x**2), x = {fmt(x)} (整数の配列)"
        before, arg = x.copy(), x.copy()
        try:
            got = call_student(check, numerical_gradient, function_2, arg, desc=desc)
        except CheckFailed as exc:
            text = str(exc)
            if M.NOT_IMPLEMENTED in text or not ("TypeError" in text or "ValueError" in text):
                raise
            got = None                                       # a clear error is fine
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
        assert_close(check, got, 2.0 * x, desc=desc, tol="float", hint=HINTS["integer"])


# --- 勾配のグラフ -----------------------------------------------------------------------------
def check_gradient_field(points, arrows):
    """arrows[i] = -∇f(points[i]) for f = x0² + x1²: arrows (N, 2) point to the origin."""
    check = "勾配のグラフ arrows"
    p = np.asarray(points, dtype=np.float64)
    desc = f"points = {fmt(p)}"
    expected = -2.0 * p

    def hint(got, exp):
        same = np.shape(got) == np.shape(exp) and _close(got, -exp, atol=1e-6)
        return HINTS["field_sign"] if same else HINTS["field"]
    assert_close(check, arrows, expected, desc=desc, tol="numerical", hint=hint)
