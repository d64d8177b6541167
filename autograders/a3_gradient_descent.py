"""Hidden checks of a3_gradient_descent (勾配法, 学習率, ニューラルネットに対する勾配).

Each ``check_*`` takes the student's function, class or result, compares it with
``reference/`` on fixed inputs and raises ``CheckFailed`` with a Japanese message.
The student's ``gradient_descent`` calls the notebook's own (given) ``numerical_gradient``;
the reference uses ``reference.numerical_gradient``: the same central difference, so the
results agree to rounding ("numerical" tolerance).

The checks run in the grader: the student's names are ``Remote`` handles into the kernel,
the functions ``f`` handed to ``gradient_descent`` are public test functions
(``testfuncs``, as ``Public``; the grader calls the same ones for the reference and the
hints), and each check sends its calls to the kernel in one or two round trips.
"""
import numpy as np

import reference as ref

from . import messages as M
from .compare import rng as compare_rng
from .compare import (CheckFailed, Public, Remote, assert_close, fail, fmt,
                      quiet, require, send, value_of)

HINTS = {
    "ascent": "x が遠ざかっています。勾配の逆向きに進むので x = x - lr * grad (x -= lr * grad) です。"
              "符号が + になっていませんか？",
    "no_update": "x が init_x から動いていません。ループの中で x を更新していますか？",
    "defaults": "引数の既定値 (デフォルト値) はスライドと同じ lr=0.01, step_num=100 にしてください。",
    "step_count": "更新の回数が step_num と 1 回ずれているようです。range(step_num) で "
                  "ちょうど step_num 回更新してください。",
    "history_after": "x_history の最初の行が init_x になっていません。x を更新する『前』に記録してください。",
    "history_extra": "x_history の行数が step_num + 1 です。スライドのように更新の前に記録すると、"
                     "記録はちょうど step_num 回です (最後に更新した x は返り値の x)。",
    "history_alias": "x_history のすべての行が同じ値です。x をそのまま append すると、同じ配列を何度も"
                     "記録することになります。x.copy() を記録してください。",
    "history_type": "x_history は np.array(x_history) のように NumPy 配列にして返してください。",
    "alias": "x = init_x は配列のコピーではなく、同じ配列に別の名前を付けるだけです (エイリアス)。"
             "そのあと x -= ... とすると呼び出し元の init_x まで書き換わります。"
             "x = init_x.copy() や np.array(init_x, dtype=float) でコピーしてから更新してください。",
    "lr_large": "lr=10.0, step_num=100 で gradient_descent を呼んだ結果を x_large_lr に入れてください。"
                "学習率が大きすぎると x は原点に近づかず、とても大きな値に発散します。",
    "lr_small": "lr=1e-10, step_num=100 で gradient_descent を呼んだ結果を x_small_lr に入れてください。"
                "学習率が小さすぎると x はほとんど (でも少しは) 動きます。",
    "predict_softmax": "predict は softmax を通す前のスコア np.dot(x, self.W) を返します。"
                       "softmax は loss の中で使います。",
    "predict_order": "行列の積の順番を確認してください: x の形は (2,) や (N, 2)、W は (2, 3) なので "
                     "np.dot(x, self.W) です。",
    "loss_no_softmax": "predict のスコアをそのまま cross_entropy_error に渡していませんか？"
                       "先に softmax で確率にしてください。",
    "loss_sse": "損失関数は交差エントロピー誤差 cross_entropy_error です (2 乗和誤差ではありません)。",
    "loss_stale_W": "loss が self.W の現在の値を使っていません。W を変えると損失も変わるはずです "
                    "(numerical_gradient は net.W を直接書き換えて損失の変化を調べます)。",
    "dW_zero": "dW がすべて 0 です。numerical_gradient には net.W そのもの (コピーではなく) を渡して"
               "ください。numerical_gradient が net.W を少しずつ書き換え、loss がそれを読みます。",
    "dW_sign": "符号が逆です。f(x+h) - f(x-h) の順になっていますか？",
}

# the lecture's example
SLIDES_INIT_X = (-3.0, 4.0)
# W, x, t of the simple net in 『ゼロから作る Deep Learning』 4.4.2
BOOK_W = [[0.47355232, 0.9977393, 0.84668094], [0.85557411, 0.03563661, 0.69422093]]
BOOK_X = [0.6, 0.9]
BOOK_T = [0, 0, 1]


# the functions handed to the student's gradient_descent (testfuncs, in the kernel too)
function_2 = Public("function_2")     # f(x0, x1) = x0^2 + x1^2 (the slides' function)
_bowl = Public("gd_bowl")             # an elongated bowl with its minimum at (1, -2)
_tilted = Public("gd_tilted")         # a 3-D quadratic with a cross term




def _ok(result):
    """``result`` of ``_send``, raising its ``CheckFailed``."""
    if isinstance(result, CheckFailed):
        raise result
    return result


# (description, f, init_x, kwargs): kwargs None = rely on the defaults lr=0.01, step_num=100
CASES = [
    ("f(x0, x1) = x0**2 + x1**2, init_x = [-3.0, 4.0], lr=0.1, step_num=100 (スライドの例)",
     function_2, SLIDES_INIT_X, dict(lr=0.1, step_num=100)),
    ("f(x) = (x0 - 1)**2 + 2 * (x1 + 2)**2, init_x = [0.5, 0.5], lr=0.05, step_num=30",
     _bowl, (0.5, 0.5), dict(lr=0.05, step_num=30)),
    ("f(x) = sum(x**2) + x0 * x1 (3 変数), init_x = [1.0, -2.0, 3.0], lr=0.1, step_num=20",
     _tilted, (1.0, -2.0, 3.0), dict(lr=0.1, step_num=20)),
    ("f(x0, x1) = x0**2 + x1**2, init_x = [-3.0, 4.0], lr と step_num は既定値のまま",
     function_2, SLIDES_INIT_X, None),
]


def _run(check, gradient_descent, cases):
    """Call the student's gradient_descent on a fresh float copy of each case's init_x, all
    in one round trip; yield (x, x_history) case by case (a failure raised in case order)."""
    ops = [(gradient_descent.op(f, np.array(init_x, dtype=np.float64), **(kwargs or {})), desc)
           for desc, f, init_x, kwargs in cases]
    for (desc, *_), out in zip(cases, send(check, gradient_descent.student, ops)):
        out = _ok(out)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            fail(check, "戻り値は (x, x_history) の 2 つにしてください。", desc=desc,
                 got=_short(out))
        yield out


def _ref(f, init_x, kwargs):
    return ref.gradient_descent(f, np.array(init_x, dtype=np.float64), **(kwargs or {}))


def check_gradient_descent(gradient_descent):
    """The final x of the student's gradient_descent equals the reference's on 4 cases."""
    check = "gradient_descent (最終的な x)"
    for (desc, f, init_x, kwargs), (x, _) in zip(CASES, _run(check, gradient_descent, CASES)):
        x_ref, _ = _ref(f, init_x, kwargs)
        init = np.array(init_x)
        lr, steps = (kwargs or {}).get("lr", 0.01), (kwargs or {}).get("step_num", 100)

        def hint(got, exp, f=f, init=init, lr=lr, steps=steps, kwargs=kwargs):
            if np.array_equal(got, init):
                return HINTS["no_update"]
            if f(got) > f(init):
                return HINTS["ascent"]
            for s in (steps - 1, steps + 1):
                if np.allclose(got, _ref(f, init, dict(lr=lr, step_num=s))[0], rtol=1e-6):
                    return HINTS["step_count"]
            if kwargs is None:
                return HINTS["defaults"]
            return None

        assert_close(check, x, x_ref, desc=desc, tol="numerical", hint=hint)


def check_gradient_descent_history(gradient_descent):
    """x_history is a (step_num, D) array whose row i is x before the i-th update."""
    check = "gradient_descent (x_history)"
    for (desc, f, init_x, kwargs), (_, hist) in zip(CASES[:3],
                                                    _run(check, gradient_descent, CASES[:3])):
        _, hist_ref = _ref(f, init_x, kwargs)
        if isinstance(hist, (list, tuple)):
            hist = np.array([np.asarray(h, dtype=float) for h in hist]) if len(hist) else \
                np.empty((0,))
        require(check, isinstance(hist, np.ndarray), "x_history が配列ではありません。",
                desc=desc, got=type(hist).__name__, hint=HINTS["history_type"])
        if hist.shape == (hist_ref.shape[0] + 1, hist_ref.shape[1]):
            fail(check, M.WRONG_SHAPE.format(expected=hist_ref.shape, got=hist.shape), desc=desc,
                 hint=HINTS["history_extra"])
        if hist.ndim == 2 and len(hist) > 1 and np.all(hist == hist[0]):
            fail(check, "x_history のすべての行が同じです。", desc=desc, got=fmt(hist),
                 hint=HINTS["history_alias"])

        def hint(got, exp, hist_ref=hist_ref, init=np.array(init_x)):
            if got.shape == exp.shape and not np.allclose(got[0], init) and \
                    np.allclose(got[0], hist_ref[1], rtol=1e-6):
                return HINTS["history_after"]
            return None

        assert_close(check, hist, hist_ref, desc=desc + " の x_history", tol="numerical",
                     hint=hint)


def check_gradient_descent_init_x(gradient_descent):
    """The caller's init_x is left unchanged (the slides' ``x = init_x`` aliases it): the
    kernel sends init_x back as it was after the call.

    (Whether the returned x *is* init_x cannot be seen across the protocol: only values
    cross.  An x that is init_x and was updated in place changed init_x, caught above; one
    that was never updated loses the points of check_gradient_descent.)"""
    check = "gradient_descent (init_x を書き換えない)"
    desc = CASES[0][0]
    before = np.array(SLIDES_INIT_X)
    out = send(check, gradient_descent.student, [(gradient_descent.op(
        function_2, before.copy(), lr=0.1, step_num=100, return_args=True), desc)])[0]
    _, args_after = _ok(out)
    init_x = args_after[1]
    if not np.array_equal(init_x, before):
        fail(check, "呼び出し元の init_x が書き換えられています。", desc=desc,
             expected=f"init_x は {fmt(before)} のまま", got=f"呼び出し後の init_x = {fmt(init_x)}",
             hint=HINTS["alias"])


def _short(v, limit=300):
    """fmt(v), cut to ``limit`` characters (a wrong object may print very long)."""
    text = fmt(v)
    return text if len(text) <= limit else text[:limit] + " …"


def _vector(v):
    """The student's result as a float array, or None if it is not numeric."""
    try:
        with quiet():
            a = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        return None
    return a if v is not None else None


def check_learning_rate(x_large_lr, x_small_lr):
    """lr=10 diverges (|x| huge), lr=1e-10 barely moves from (-3, 4): compared with the reference."""
    check = "学習率の実験"
    x_large_lr, x_small_lr = value_of(check, x_large_lr), value_of(check, x_small_lr)
    init = np.array(SLIDES_INIT_X)
    desc = "init_x = [-3.0, 4.0], step_num=100, lr=10.0"
    big = _vector(x_large_lr)
    require(check, big is not None and big.shape == (2,), "x_large_lr は長さ 2 の配列にしてください。",
            desc=desc, got=_short(x_large_lr), hint=HINTS["lr_large"])
    x_ref_big, _ = ref.gradient_descent(function_2, init, lr=10.0, step_num=100)
    require(check, np.all(np.isfinite(big)) and np.linalg.norm(big) > 1e6,
            "lr=10.0 の結果が発散していません。", desc=desc,
            expected=f"絶対値がとても大きい値 (参考実装: {fmt(x_ref_big)})", got=fmt(big),
            hint=HINTS["lr_large"])
    desc = "init_x = [-3.0, 4.0], step_num=100, lr=1e-10"
    small = _vector(x_small_lr)
    require(check, small is not None and small.shape == (2,),
            "x_small_lr は長さ 2 の配列にしてください。", desc=desc, got=_short(x_small_lr),
            hint=HINTS["lr_small"])
    x_ref_small, _ = ref.gradient_descent(function_2, init, lr=1e-10, step_num=100)
    moved = float(np.max(np.abs(small - init)))
    require(check, 0 < moved < 1e-6, "lr=1e-10 の結果が期待と違います。", desc=desc,
            expected=f"init_x からほんの少しだけ動いた値 (参考実装: {x_ref_small.tolist()})",
            got=repr(small.tolist()), hint=HINTS["lr_small"])
    assert_close(check, small, x_ref_small, desc=desc, tol="float", hint=HINTS["lr_small"])


def _fixed_net(check, net, W):  # noqa: N803 -- W as in the book
    """The checks of a new simpleNet() (``net``: its construction's result, ``W``: the value of
    its W as read back, or the ``CheckFailed`` of either)."""
    net = _ok(net)
    has_W = isinstance(net, Remote) and getattr(W, "etype", None) != "AttributeError"
    require(check, has_W, "simpleNet のインスタンスに重み W がありません。",
            desc="simpleNet()", hint="__init__ で self.W = np.random.randn(2, 3) としてください。")
    W = _ok(W)
    require(check, np.shape(W) == (2, 3), "W の形が (2, 3) ではありません。",
            desc="simpleNet()", got=fmt(np.shape(W)))


def check_simple_net(simpleNet):  # noqa: N803
    """predict = x @ W and loss = cross_entropy_error(softmax(x @ W), t), single and batch.

    Two round trips: build two nets, then for each read W, set it, predict, loss twice
    and loss again after W[0, 0] += 0.5 (in place, as numerical_gradient changes it)."""
    check = "simpleNet"
    rng = compare_rng(3)            # per submission while grading
    W = rng.standard_normal((2, 3))
    inputs = [
        ("x = [0.6, 0.9] (1 つのデータ), t = [0, 0, 1]", np.array(BOOK_X), np.array(BOOK_T)),
        ("x: 形 (4, 2) のバッチ, t: ワンホット表現 (4, 3)", rng.standard_normal((4, 2)),
         np.eye(3)[[0, 2, 1, 2]]),
    ]
    student = simpleNet.student
    nets = send(check, student, [(simpleNet.op(), "simpleNet()") for _ in inputs])
    W_shifted = W.copy()
    W_shifted[0, 0] += 0.5
    ops = []
    for net, (desc, x, t) in zip(nets, inputs):
        if not isinstance(net, Remote):
            continue
        desc_W = f"W = {fmt(W)}, {desc}"
        ops += [(net.attr("W").get_op(), "simpleNet()"), (net.attr("W").set_op(W), desc_W),
                (net.attr("predict").op(x), desc_W), (net.attr("loss").op(x, t), desc_W),
                (net.attr("loss").op(x, t), desc_W),
                (net.attr("W").item(0).item(0).set_op(float(W_shifted[0, 0])), desc_W),
                (net.attr("loss").op(x, t), desc_W)]
    results = iter(send(check, student, ops))
    for net, (desc, x, t) in zip(nets, inputs):
        if not isinstance(net, Remote):
            _fixed_net(check, net, None)
        W_read, W_set, got_predict, got_loss, got_l0, W_changed, got_l1 = \
            [next(results) for _ in range(7)]
        _fixed_net(check, net, W_read)
        _ok(W_set)
        rnet = ref.SimpleNet(W)
        desc_W = f"W = {fmt(W)}, {desc}"
        if isinstance(got_predict, CheckFailed):   # e.g. np.dot(self.W.T, x) fails for a batch
            if M.NOT_IMPLEMENTED in str(got_predict):
                raise got_predict
            raise CheckFailed(f"{got_predict}\n{M.HINT.format(hint=HINTS['predict_order'])}")
        assert_close(check + ".predict", got_predict, rnet.predict(x), desc=desc_W,
                     hint=lambda g, e: HINTS["predict_softmax"]
                     if np.allclose(g, ref.softmax(e)) else None)
        got = _ok(got_loss)

        def hint(g, e, x=x, t=t):
            if np.allclose(g, ref.cross_entropy_error(np.dot(x, W), t), equal_nan=True):
                return HINTS["loss_no_softmax"]
            if np.allclose(g, ref.sum_squared_error(ref.softmax(np.dot(x, W)), t)):
                return HINTS["loss_sse"]
            return None

        assert_close(check + ".loss", got, rnet.loss(x, t), desc=desc_W, hint=hint)
        # the loss must read the current W: numerical_gradient changes net.W in place
        l0 = float(np.asarray(_ok(got_l0)))
        _ok(W_changed)
        l1 = float(np.asarray(_ok(got_l1)))
        require(check + ".loss", l0 != l1, "W[0, 0] を変えても損失が変わりません。",
                desc=desc_W, hint=HINTS["loss_stale_W"])


def check_simple_net_gradient(dW):
    """dW = numerical_gradient(lambda W: net.loss(x, t), net.W) for the book's W, x, t."""
    check = "simpleNet の勾配 dW"
    desc = f"W = {BOOK_W}, x = {BOOK_X}, t = {BOOK_T}"
    dW = value_of(check, dW, desc)
    net = ref.SimpleNet(BOOK_W)
    with quiet():
        expected = net.numerical_gradient(np.array(BOOK_X), np.array(BOOK_T))

    def hint(got, exp):
        if got.shape == exp.shape and np.all(got == 0):
            return HINTS["dW_zero"]
        if got.shape == exp.shape and np.allclose(got, -exp, rtol=1e-3):
            return HINTS["dW_sign"]
        return None

    assert_close(check, dW, expected, desc=desc, tol="numerical", hint=hint)
