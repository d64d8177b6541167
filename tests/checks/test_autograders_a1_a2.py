"""The checks of autograders/a1_loss.py and a2_gradient.py, called directly (no notebooks).

A check receives ``Remote`` handles, as in grading; here they are backed by the local call
server (``nncourse.kernel.local``: the kernel's ``Server`` and wire format in-process).
Correct answers written in other ways pass every check; each typical mistake fails the
check of its exercise with the expected hint, and passes the checks of other exercises.
"""
import numpy as np
import pytest

import reference as R
from autograders import CheckFailed
from autograders import a1_loss as A1
from autograders import a2_gradient as A2
from autograders import testfuncs
from nncourse.kernel.local import local_student, remotes


def on(*objects):
    """``Remote`` handles of ``objects`` (the student's functions or variables)."""
    return remotes(**{f"arg{i}": obj for i, obj in enumerate(objects)})


def run(check, *objects):
    """``check`` on Remote handles of ``objects``; raises CheckFailed if it fails."""
    check(*on(*objects))


def fails(check, *objects, hint):
    """``check`` on ``objects`` raises CheckFailed whose message contains ``hint``; the message."""
    with pytest.raises(CheckFailed) as info:
        run(check, *objects)
    msg = str(info.value)
    assert hint in msg, msg
    assert msg.startswith("[採点]") and "Traceback" not in msg
    return msg


# === a1_loss ====================================================================================
# --- sum_squared_error --------------------------------------------------------------------------
def sse_slides(y, t):
    return 0.5 * np.sum((y - t) ** 2)


def sse_loop(y, t):
    total = 0.0
    for k in range(len(y)):
        total += (y[k] - t[k]) ** 2
    return total / 2


def sse_float32(y, t):
    d = np.asarray(y, dtype=np.float32) - np.asarray(t, dtype=np.float32)
    return np.float32(0.5) * np.dot(d, d)


@pytest.mark.parametrize("func", [R.sum_squared_error, sse_slides, sse_loop, sse_float32])
def test_sum_squared_error_correct_variants_pass(func):
    run(A1.check_sum_squared_error, func)


@pytest.mark.parametrize("func,hint", [
    (lambda y, t: np.sum((y - t) ** 2), "1/2 (0.5) を掛け忘れて"),
    (lambda y, t: 0.5 * np.mean((y - t) ** 2), "平均 (np.mean) ではなく和"),
    (lambda y, t: np.mean((y - t) ** 2), "平均 (np.mean) ではなく和"),
    (lambda y, t: 0.5 * np.sum(np.abs(y - t)), "差を 2 乗してから"),
    (lambda y, t: None, "return を書き忘れて"),
    (lambda y, t: 0.5 * (y - t) ** 2, "全部足し"),
])
def test_sum_squared_error_mistakes_get_hints(func, hint):
    fails(A1.check_sum_squared_error, func, hint=hint)


def test_not_implemented_is_reported_as_such():
    def stub(y, t):
        raise NotImplementedError()
    msg = fails(A1.check_sum_squared_error, stub, hint="まだ実装されていません")
    assert "ヒント" not in msg


# --- cross_entropy_error (one sample) -----------------------------------------------------------
def ce_slides(y, t):
    delta = 1e-7
    return -np.sum(t * np.log(y + delta))


def ce_loop(y, t):
    e = 0.0
    for k in range(len(y)):
        e -= t[k] * np.log(y[k] + 1e-7)
    return e


def ce_index(y, t):
    return -np.log(y[np.argmax(t)] + 1e-7)


@pytest.mark.parametrize("func", [R.cross_entropy_error, ce_slides, ce_loop, ce_index])
def test_cross_entropy_error_correct_variants_pass(func):
    run(A1.check_cross_entropy_error, func)


@pytest.mark.parametrize("func,hint", [
    (lambda y, t: -np.sum(t * np.log(y)), "delta = 1e-7 を log の中で"),
    (lambda y, t: -np.sum(t * np.log(y)) + 1e-7, "delta = 1e-7 を log の中で"),
    (lambda y, t: -np.sum(t * np.log(y) + 1e-7), "delta = 1e-7 を log の中で"),
    (lambda y, t: -np.sum(t * np.log10(y + 1e-7)), "np.log10 ではなく np.log"),
    (lambda y, t: np.sum(t * np.log(y + 1e-7)), "符号が逆"),
    (lambda y, t: -np.mean(t * np.log(y + 1e-7)), "np.mean は全要素"),
    (lambda y, t: -np.sum(t * np.log(y + 1e-4)), "delta = 1e-7"),
])
def test_cross_entropy_error_mistakes_get_hints(func, hint):
    fails(A1.check_cross_entropy_error, func, hint=hint)


# --- cross_entropy_error (batch) ----------------------------------------------------------------
def ce_batch_slides_fixed(y, t):
    """The slides' batch code with its bugs fixed (one-hot targets only)."""
    if y.ndim == 1:
        t = t.reshape(1, t.size)
        y = y.reshape(1, y.size)

    batch_size = y.shape[0]
    return -np.sum(t * np.log(y + 1e-7)) / batch_size


def ce_batch_book(y, t):
    """The textbook's version: one-hot targets are turned into labels with argmax."""
    if y.ndim == 1:
        t = t.reshape(1, t.size)
        y = y.reshape(1, y.size)
    if t.size == y.size:
        t = t.argmax(axis=1)
    batch_size = y.shape[0]
    return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size


def ce_batch_loops(y, t):
    y, t = np.atleast_2d(y), np.asarray(t)
    if t.size != y.size:
        t = np.eye(y.shape[1])[t.reshape(-1).astype(int)]
    t = t.reshape(y.shape)
    losses = [-sum(t[n, k] * np.log(y[n, k] + 1e-7) for k in range(y.shape[1]))
              for n in range(y.shape[0])]
    return float(np.mean(losses))


def ce_batch_float32(y, t):
    return np.float32(R.cross_entropy_error(np.asarray(y, np.float32), t))


@pytest.mark.parametrize("func", [R.cross_entropy_error, ce_batch_slides_fixed, ce_batch_book,
                                  ce_batch_loops, ce_batch_float32])
def test_cross_entropy_error_batch_correct_variants_pass(func):
    run(A1.check_cross_entropy_error_batch, func)
    run(A1.check_cross_entropy_error, func)   # a batch version is also a correct 1-sample version


@pytest.mark.parametrize("func", [R.cross_entropy_error, ce_batch_book, ce_batch_loops,
                                  ce_batch_float32, R.cross_enthropy_error])
def test_cross_entropy_error_labels_correct_variants_pass(func):
    run(A1.check_cross_entropy_error_labels, func)


def ce_batch_slides_verbatim(y, t):
    if y.ndim == 1:
        t = t.reshape(1, t.size)
        y = y.reshape(1, y.size)

    batch_size = y.shape(0)
    return -np.sum(t * np.log(y + 1e-7))


def ce_batch_no_division(y, t):
    if y.ndim == 1:
        t, y = t.reshape(1, t.size), y.reshape(1, y.size)
    return -np.sum(t * np.log(y + 1e-7))


def ce_batch_mean_all(y, t):
    if y.ndim == 1:
        t, y = t.reshape(1, t.size), y.reshape(1, y.size)
    return -np.mean(t * np.log(y + 1e-7))


def ce_batch_no_reshape(y, t):
    return -np.sum(t * np.log(y + 1e-7)) / y.shape[0]


@pytest.mark.parametrize("func,hint", [
    (ce_batch_slides_verbatim, "y.shape[0] と角括弧"),
    (ce_batch_no_division, "データ数 N (batch_size = y.shape[0]) で割って"),
    (ce_slides, "データ数 N (batch_size = y.shape[0]) で割って"),     # the 1-sample version
    (ce_batch_mean_all, "np.mean は全要素"),
    (ce_batch_no_reshape, "y.reshape(1, y.size)"),
])
def test_cross_entropy_error_batch_mistakes_get_hints(func, hint):
    fails(A1.check_cross_entropy_error_batch, func, hint=hint)


def test_batch_mistakes_pass_the_one_sample_check():
    for func in (ce_batch_no_division, ce_slides):
        run(A1.check_cross_entropy_error, func)


def test_one_hot_only_batch_loses_only_the_labels_point():
    run(A1.check_cross_entropy_error, ce_batch_slides_fixed)
    run(A1.check_cross_entropy_error_batch, ce_batch_slides_fixed)
    fails(A1.check_cross_entropy_error_labels, ce_batch_slides_fixed,
          hint="y[np.arange(batch_size), t]")


def test_labels_without_one_sample_support_gets_hint():
    def labels_2d_only(y, t):
        if t.size == y.size:
            return R.cross_entropy_error(y, t)
        n = y.shape[0]
        return -np.sum(np.log(y[np.arange(n), t] + 1e-7)) / n
    fails(A1.check_cross_entropy_error_labels, labels_2d_only, hint="t も reshape")


def test_labels_not_averaged_gets_averaging_hint():
    def labels_sum(y, t):
        y = np.atleast_2d(y)
        n = y.shape[0]
        t = np.asarray(t).reshape(-1) if np.size(t) != y.size else np.argmax(t.reshape(y.shape), 1)
        return -np.sum(np.log(y[np.arange(n), t] + 1e-7))
    fails(A1.check_cross_entropy_error_labels, labels_sum, hint="割って平均")


# === a2_gradient ================================================================================
# --- numerical_diff ------------------------------------------------------------------------------
def diff_h5(f, x):
    h = 1e-5
    return (f(x + h) - f(x - h)) / (2 * h)


@pytest.mark.parametrize("func", [R.numerical_diff, diff_h5,
                                  lambda f, x: (f(x + 1e-4) - f(x - 1e-4)) / 2e-4])
def test_numerical_diff_correct_variants_pass(func):
    run(A2.check_numerical_diff, func)


@pytest.mark.parametrize("func,hint", [
    (lambda f, x: (f(x + 1e-4) - f(x)) / 1e-4, "前方差分"),
    (lambda f, x: (f(x) - f(x - 1e-4)) / 1e-4, "後方差分"),
    (lambda f, x: (f(x + 1e-50) - f(x - 1e-50)) / (2 * 1e-50), "h が小さすぎる"),
    (lambda f, x: (f(x + 1e-4) - f(x - 1e-4)) / 2 * 1e-4, "/ (2*h) と括弧"),
    (lambda f, x: (f(x + 1e-4) - f(x - 1e-4)) / 1e-4, "幅は 2h"),
])
def test_numerical_diff_mistakes_get_hints(func, hint):
    fails(A2.check_numerical_diff, func, hint=hint)


# --- partial derivatives -------------------------------------------------------------------------
def test_partial_derivatives_correct_variants_pass():
    run(A2.check_partial_derivatives, lambda x0: x0 * x0 + 4.0 ** 2.0,
        lambda x1: 3.0 ** 2.0 + x1 * x1)
    run(A2.check_partial_derivatives, lambda x0: x0 ** 2 + 16, lambda x1: 9 + x1 ** 2)
    run(A2.check_partial_derivatives, lambda x0: np.sum(np.array([x0, 4.0]) ** 2),
        lambda x1: np.sum(np.array([3.0, x1]) ** 2))


def test_partial_derivatives_mistakes_get_hints():
    fails(A2.check_partial_derivatives, lambda x0: x0 ** 2 + 3.0 ** 2, lambda x1: 9 + x1 ** 2,
          hint="x1 を 3.0 に固定していませんか")
    fails(A2.check_partial_derivatives, lambda x0: x0 ** 2 + 16, lambda x1: 4.0 ** 2 + x1 ** 2,
          hint="x0 を 4.0 に固定していませんか")
    fails(A2.check_partial_derivatives, lambda x0: x0 ** 2 + 4.0, lambda x1: 9 + x1 ** 2,
          hint="x1 = 4.0 に固定")
    fails(A2.check_partial_derivatives, lambda x0: x0 ** 2 + 16, lambda x1: 2 * x1,
          hint="x0 = 3.0 に固定")


def test_partial_derivatives_slope_is_computed_from_the_students_values():
    """Right at the five points, wrong next to 3.0: the grader's central difference sees it."""
    def bumpy(x0):
        return x0 * x0 + 16.0 + (1e-3 if x0 > 3.0 and x0 < 3.1 else 0.0)
    msg = fails(A2.check_partial_derivatives, bumpy, lambda x1: 9 + x1 ** 2,
                hint="x1 = 4.0 に固定")
    assert "numerical_diff(function_tmp1, 3.0) (正解の numerical_diff で計算)" in msg
    # a list is fine for the values, not for the difference (as with the reference)
    msg = fails(A2.check_partial_derivatives, lambda x0: x0 ** 2 + 16,
                lambda x1: [9 + x1 ** 2], hint="TypeError: unsupported operand")
    assert "numerical_diff(function_tmp2, 4.0)" in msg

    def raises_near_4(x1):
        if 4.0 < x1 < 4.1:
            raise ZeroDivisionError("division by zero")
        return 9 + x1 ** 2
    msg = fails(A2.check_partial_derivatives, lambda x0: x0 ** 2 + 16, raises_near_4,
                hint="ZeroDivisionError: division by zero")
    assert "numerical_diff(function_tmp2, 4.0)" in msg


# --- numerical_gradient --------------------------------------------------------------------------
def grad_slides(f, x):
    """The slides' code: 1-D x only, and integers are truncated."""
    h = 1e-4
    grad = np.zeros_like(x)
    for idx in range(x.size):
        tmp_val = x[idx]
        x[idx] = float(tmp_val) + h
        fxh1 = f(x)
        x[idx] = tmp_val - h
        fxh2 = f(x)
        grad[idx] = (fxh1 - fxh2) / (2 * h)
        x[idx] = tmp_val
    return grad


def grad_nditer(f, x):
    x = x.astype(float) if x.dtype.kind != "f" else x
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        i = it.multi_index
        v = x[i]
        x[i] = v + 1e-4
        a = f(x)
        x[i] = v - 1e-4
        b = f(x)
        grad[i] = (a - b) / 2e-4
        x[i] = v
        it.iternext()
    return grad


def grad_copies(f, x):
    """No restoring at all: every evaluation works on a fresh copy."""
    x = np.asarray(x, dtype=np.float64)
    grad = np.empty(x.shape)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += 1e-4
        xm[i] -= 1e-4
        grad[i] = (f(xp) - f(xm)) / 2e-4
    return grad


def grad_flat_view(f, x):
    """Through a flat view of a contiguous x: x.reshape(-1) shares the data."""
    if x.dtype.kind != "f":
        raise TypeError("x must be a float array")
    flat = x.reshape(-1)
    grad = np.zeros(x.size)
    for k in range(x.size):
        v = flat[k]
        flat[k] = v + 1e-4
        a = f(x)
        flat[k] = v - 1e-4
        b = f(x)
        flat[k] = v
        grad[k] = (a - b) / 2e-4
    return grad.reshape(x.shape)


def grad_rows(f, x):
    """The slides' 1-D code applied row by row for a matrix (the book's _no_batch idea)."""
    if x.dtype.kind != "f":
        raise ValueError("x must be a float array")
    if x.ndim == 1:
        return grad_slides(f, x)
    grad = np.zeros(x.shape)
    for r in range(x.shape[0]):
        row = x[r]
        grad[r] = grad_slides(lambda _: f(x), row)
    return grad


def grad_shift_back(f, x):
    """Shifts x[i] by +h, -2h, +h instead of saving it: x comes back up to rounding only."""
    x = x.astype(float) if x.dtype.kind != "f" else x
    grad = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        x[i] += 1e-4
        a = f(x)
        x[i] -= 2e-4
        b = f(x)
        x[i] += 1e-4
        grad[i] = (a - b) / 2e-4
    return grad


def grad_float32_out(f, x):
    return grad_nditer(f, x).astype(np.float32)


GRAD_CORRECT = [R.numerical_gradient, grad_nditer, grad_copies, grad_flat_view, grad_rows,
                grad_shift_back, grad_float32_out]


@pytest.mark.parametrize("func", GRAD_CORRECT)
def test_numerical_gradient_correct_variants_pass(func):
    run(A2.check_numerical_gradient, func)
    run(A2.check_numerical_gradient_matrix, func)
    run(A2.check_numerical_gradient_int, func)


def test_reference_raises_on_integers_and_that_is_accepted():
    with pytest.raises(TypeError):
        R.numerical_gradient(testfuncs.function_2, np.array([3, 4]))
    run(A2.check_numerical_gradient_int, R.numerical_gradient)


def test_slides_gradient_passes_vectors_fails_matrix_and_integers():
    run(A2.check_numerical_gradient, grad_slides)
    fails(A2.check_numerical_gradient_matrix, grad_slides, hint="1 行全体")
    fails(A2.check_numerical_gradient_int, grad_slides, hint="切り捨てられ")


def test_1d_only_gradient_with_float_conversion_loses_only_the_matrix_points():
    # catalogue mutant grad_1d_only: the integer check leaves matrices it cannot do alone
    def grad_slides_float(f, x):
        return grad_slides(f, x.astype(np.float64))
    run(A2.check_numerical_gradient, grad_slides_float)
    run(A2.check_numerical_gradient_int, grad_slides_float)
    fails(A2.check_numerical_gradient_matrix, grad_slides_float, hint="1 行全体")


def test_gradient_not_restoring_x_gets_hint():
    def no_restore(f, x):
        grad = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            v = x[i]
            x[i] = v + 1e-4
            a = f(x)
            x[i] = v - 1e-4
            grad[i] = (a - f(x)) / 2e-4
        return grad
    msg = fails(A2.check_numerical_gradient, no_restore, hint="x[idx] = tmp_val")
    assert "書き換えて" in msg


def test_gradient_sign_and_forward_difference_get_hints():
    fails(A2.check_numerical_gradient, lambda f, x: -grad_nditer(f, x), hint="符号が逆")

    def forward(f, x):
        grad = np.zeros_like(x)
        fx = f(x)
        for i in np.ndindex(x.shape):
            v = x[i]
            x[i] = v + 1e-4
            grad[i] = (f(x) - fx) / 1e-4
            x[i] = v
        return grad
    fails(A2.check_numerical_gradient, forward, hint="前方差分")


def test_gradient_half_forward_difference_gets_hint():
    def half(f, x):         # x[idx] = orig instead of orig - h: (f(x+h) - f(x)) / 2h
        x = x.astype(float)
        grad = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            v = x[i]
            x[i] = v + 1e-4
            a = f(x)
            x[i] = v
            grad[i] = (a - f(x)) / 2e-4
        return grad
    for check in (A2.check_numerical_gradient, A2.check_numerical_gradient_matrix,
                  A2.check_numerical_gradient_int):     # the integer vector is always judged
        fails(check, half, hint="ずらしていない f(x)")


def test_gradient_int_vector_is_judged_even_when_the_float_version_is_wrong():
    def stub(f, x):
        raise NotImplementedError()
    fails(A2.check_numerical_gradient_int, stub, hint="まだ実装されていません")
    fails(A2.check_numerical_gradient_int, lambda f, x: np.ndindex(3).missing,
          hint="AttributeError")                # e.g. np rebound to math

    def type_error_always(f, x):                # a clear error is accepted, for any x
        raise TypeError("float の配列を渡してください")
    run(A2.check_numerical_gradient_int, type_error_always)


def test_gradient_int_x_changed_by_the_student_is_seen():
    def shifts_int_x(f, x):
        x[0] += 1
        return grad_nditer(f, x.astype(float) - np.array([1.0, 0.0]))
    fails(A2.check_numerical_gradient_int, shifts_int_x, hint="切り捨てられ")


def test_gradient_int_result_for_float_input_fails():
    fails(A2.check_numerical_gradient, lambda f, x: np.round(grad_nditer(f, x)).astype(int),
          hint="float の配列で返して")


def test_gradient_int_silently_rounding_fails_even_without_modifying_x():
    def truncating_copy(f, x):
        return grad_slides(f, x.copy())
    fails(A2.check_numerical_gradient_int, truncating_copy, hint="切り捨てられ")


@pytest.mark.parametrize("check,most", [
    (A1.check_sum_squared_error, 1), (A1.check_cross_entropy_error_labels, 2),
    (A2.check_numerical_diff, 1), (A2.check_partial_derivatives, 1),
    (A2.check_numerical_gradient, 1), (A2.check_numerical_gradient_matrix, 1),
    (A2.check_numerical_gradient_int, 2)])
def test_checks_make_few_round_trips(check, most):
    answers = {"sum_squared_error": R.sum_squared_error,
               "cross_entropy_error_labels": R.cross_entropy_error,
               "numerical_diff": R.numerical_diff, "numerical_gradient": R.numerical_gradient,
               "partial_derivatives": None}
    name = next(k for k in answers if k in check.__name__)
    student = local_student({"f": answers[name], "tmp1": lambda v: v * v + 16.0,
                             "tmp2": lambda v: 9.0 + v * v})
    if name == "partial_derivatives":
        check(student["tmp1"], student["tmp2"])
    else:
        check(student["f"])
    assert student.calls <= most


def test_gradient_field_reads_the_variables_in_two_round_trips():
    points = A2._grid()
    student = local_student({"points": points, "arrows": -2 * points})
    A2.check_gradient_field(student["points"], student["arrows"])
    assert student.calls == 2
    missing = local_student({"points": points})
    with pytest.raises(CheckFailed, match="arrows が定義されていません"):
        A2.check_gradient_field(missing["points"], missing["arrows"])
    fails(A2.check_gradient_field, "not numbers", -2 * points, hint="ではない値")


def test_gradient_field_with_points_changed_by_numerical_gradient_fails():
    """Rows of points given to a numerical_gradient that does not restore x are changed."""
    points = A2._grid()
    arrows = -2 * points
    points[:, 0] -= 1e-4                      # each row's x0 left at x0 - h
    msg = fails(A2.check_gradient_field, points, arrows, hint="points が書き換えられています")
    assert "引数 points の中身を書き換えて" in msg


def test_public_test_functions_are_what_the_checks_used_before():
    """testfuncs holds the functions that were closures of the checks: same values."""
    c = np.random.default_rng(6).normal(size=(3, 2))
    assert np.array_equal(testfuncs.TANH_C, c)
    w = np.random.default_rng(0).normal(size=(2, 3))
    a = np.dot([0.6, 0.9], w)
    y = np.exp(a - a.max()) / np.exp(a - a.max()).sum()
    assert testfuncs.grad_simple_net_loss(w) == -np.sum(np.array([0, 0, 1]) * np.log(y + 1e-7))
    for _, f, x in A2.DIFF_CASES:                      # every f is a public test function
        assert f.name in vars(testfuncs) and np.isfinite(f(x))


@pytest.mark.parametrize("seed", [1, 2024])
def test_gradient_checks_with_a_submission_seed(seed):
    """While grading, the random points come from the submission's seed: same verdicts."""
    from autograders.compare import set_submission_seed
    set_submission_seed(seed)
    try:
        for check in (A2.check_numerical_gradient, A2.check_numerical_gradient_matrix):
            run(check, grad_nditer)
            fails(check, lambda f, x: -grad_nditer(f, x), hint="符号が逆")
    finally:
        set_submission_seed(None)


def test_gradient_mistakes_do_not_affect_other_exercises():
    # a wrong numerical_gradient cannot change the numerical_diff or partial-derivative checks
    run(A2.check_numerical_diff, R.numerical_diff)
    run(A2.check_partial_derivatives, lambda a: a * a + 16.0, lambda b: 9.0 + b * b)


# --- gradient field -------------------------------------------------------------------------------
def test_gradient_field():
    x0, x1 = np.meshgrid(np.arange(-2, 2.5, 0.25), np.arange(-2, 2.5, 0.25))
    points = np.stack([x0.flatten(), x1.flatten()], axis=1)
    arrows = np.array([-R.numerical_gradient(testfuncs.function_2, p.copy()) for p in points])
    run(A2.check_gradient_field, points, arrows)
    fails(A2.check_gradient_field, points, -arrows, hint="マイナスを付けた -∇f")
    fails(A2.check_gradient_field, points, np.zeros_like(points), hint="arrows[i] は点")
    fails(A2.check_gradient_field, points, arrows[:10], hint="arrows[i] は点")


def test_numerical_diff_is_held_to_the_visible_bound():
    """The visible asserts allow |d - f'(x)| < 1e-6; the grader holds the same line."""
    def central(h):
        return lambda f, x: (f(x + h) - f(x - h)) / (2 * h)
    run(A2.check_numerical_diff, central(2e-4))
    msg = fails(A2.check_numerical_diff, central(1.5e-3), hint="中心差分")
    assert "x**3" in msg


def test_labels_given_as_columns_get_their_own_hint():
    def columns(y, t):
        y, t = np.asarray(y), np.asarray(t)
        if y.ndim == 1:
            y, t = y.reshape(1, -1), t.reshape(1, -1)
        n = y.shape[0]
        if t.size == y.size:
            return -np.sum(t * np.log(y + 1e-7)) / n
        return -np.sum(np.log(y[:, t.reshape(n).astype(int)] + 1e-7)) / n
    fails(A1.check_cross_entropy_error_labels, columns, hint="各行から t のすべての列を取り出して")

    def one_hot_only(y, t):
        y, t = np.asarray(y), np.asarray(t)
        if y.ndim == 1:
            y, t = y.reshape(1, -1), t.reshape(1, -1)
        return -np.sum(t * np.log(y + 1e-7)) / y.shape[0]
    fails(A1.check_cross_entropy_error_labels, one_hot_only,
          hint="ワンホット表現のように t を掛けることはできません")
