"""Hidden checks of a4_two_layer_net (2層ニューラルネット, ミニバッチ学習 on MNIST).

The method checks build the student's ``TwoLayerNet``, overwrite its ``params`` with fixed
seeded arrays, and compare each method with ``reference.TwoLayerNet`` holding the same
params.  ``check_train_step`` runs the student's own update step ``train_step`` from states,
real MNIST mini-batches and learning rates the grader draws (seeded per submission) and
compares every parameter with ``reference.train_step``.  The training checks first require
that same step to work -- the training points are for training the grader has seen work,
so weights trained elsewhere and pasted into the notebook earn nothing -- then read the
student's lists and the final ``network.params`` (plain arrays) and re-measure the
network's accuracy with the reference on the real MNIST data, here in the grader: a
submission cannot claim an accuracy its parameters do not reach.

The checks run in the grader and reach the student's code through ``Remote`` handles:
a method check costs two round trips to the kernel (build the nets; then read and set their
params and call the methods).  The kernel restores NumPy's global random state after every
round trip, so grading does not change the random numbers of the notebook's later cells.
"""
import numpy as np

import course_config
import reference as ref
from reference.two_layer_net import PARAM_KEYS

from . import messages as M
from .compare import rng as compare_rng
from .compare import (TOLERANCES, CheckFailed, Remote, StudentError, assert_close, fail, fmt,
                      quiet, require, send, student_failure, value_of)

HINTS = {
    "std_one": "重みの標準偏差が約 1 です。weight_init_std * np.random.randn(...) のように "
               "weight_init_std を掛けていますか？",
    "uniform": "重みの平均が 0 ではありません。一様乱数 np.random.rand ではなく、"
               "ガウス分布 (正規分布) の np.random.randn を使ってください。",
    "zero_weights": "重みがすべて 0 です。重みはガウス分布の乱数で初期化します "
                    "(すべて同じ値だと、隠れ層のニューロンがみな同じ働きしかできません)。",
    "bias_zero": "バイアス b1, b2 は 0 (np.zeros) で初期化してください。",
    "shape": "W1 は (input_size, hidden_size)、b1 は (hidden_size,)、W2 は (hidden_size, output_size)、"
             "b2 は (output_size,) です。",
    "relu": "隠れ層の活性化関数は sigmoid です (ReLU ではありません)。",
    "no_softmax": "出力がスコアのままです。出力層では softmax を使って確率にしてください。",
    "no_sigmoid": "隠れ層に活性化関数 sigmoid を使っていますか？",
    "softmax_overflow": "大きな値 (スコアが 1000 程度) で NaN や inf になっています。softmax では "
                        "exp の前に最大値を引いてオーバーフローを防いでください "
                        "(用意されている softmax を使えば大丈夫です)。",
    "loss_sum": "損失がバッチサイズ倍になっています。交差エントロピー誤差はバッチの平均 "
                "(バッチサイズで割る) です。",
    "loss_predict": "loss は self.predict(x) の出力 (確率) と t の cross_entropy_error です。",
    "acc_no_argmax": "t がワンホット表現のときは np.argmax(t, axis=1) で正解ラベルに直してから "
                     "比べてください。",
    "acc_labels": "t がラベル (形 (N,)) のときは、そのまま比べてください (argmax は不要です)。",
    "acc_percent": "認識精度は 0〜1 の割合で返してください (100 を掛けない)。",
    "acc_count": "正解の数ではなく、正解の数をデータの数 x.shape[0] で割った割合を返してください。",
    "grad_zero": "勾配がすべて 0 です。numerical_gradient には self.params[key] そのもの "
                 "(コピーではなく) を渡してください。",
    "grad_keys": "返り値は 'W1', 'b1', 'W2', 'b2' をキーとする辞書 (dict) にしてください。",
    "grad_check": "grad_errors には、各パラメータについて数値微分 (numerical_gradient) と "
                  "誤差逆伝播法 (gradient) の勾配の相対誤差を rel_error で求めて入れてください。",
    "grad_check_same": "相対誤差がちょうど 0 です。同じ勾配どうしを比べていませんか？",
    "every_iteration": "認識精度をすべての繰り返しで記録しています。1 エポックごと "
                       "(i % iter_per_epoch == 0 のとき) に記録してください。",
    "epoch_count": "1 エポックごと (i = 0, 600, 1200, …, 9600) に記録すると 17 個になるはずです。"
                   "i % iter_per_epoch == 0 の条件を確認してください。",
    "loss_every": "train_loss_list にはミニバッチの損失を毎回 (10000 回) 記録してください。",
    "not_learning": "学習が進んでいません。パラメータの更新 network.params[key] -= learning_rate * grad[key] "
                    "を確認してください。",
    "bias_not_updated": "バイアス {key} が初期値 0 のままです。更新するパラメータは "
                        "('W1', 'b1', 'W2', 'b2') の 4 つすべてです。",
    "step_no_update": "パラメータが変わっていません。引数の network の params を、"
                      "network.params[key] -= learning_rate * grad[key] のように更新してください "
                      "(グローバル変数の network ではなく、引数の network です)。",
    "step_sign": "パラメータが勾配の向きに更新されています。損失関数を小さくするには勾配の逆向きに "
                 "更新します: network.params[key] -= learning_rate * grad[key] (足すのではなく引く)。",
    "step_no_lr": "勾配に学習率を掛けずに更新しています。learning_rate * grad[key] を引いてください。",
    "step_fixed_lr": "学習率が 0.1 のままです。学習率は引数の learning_rate を使ってください "
                     "(採点では別の学習率でも呼び出します)。",
    "step_bias": "バイアス {key} が更新されていません。更新するパラメータは 'W1', 'b1', 'W2', 'b2' の "
                 "4 つすべてです。",
    "step_grad": "勾配は network.gradient(x_batch, t_batch) (ミニバッチの損失関数の勾配) で求め、"
                 "4 つのパラメータ 'W1', 'b1', 'W2', 'b2' すべてを learning_rate * grad[key] だけ "
                 "更新してください。",
    "low_accuracy": "テストデータの認識精度が {need} に届きません。iters_num = 10000, batch_size = 100, "
                    "learning_rate = 0.1, hidden_size = 50 になっているか、ミニバッチを無作為 "
                    "(np.random.choice) に選んでいるかを確認してください。",
}

MIN_TEST_ACCURACY = course_config.MIN_TEST_ACCURACY      # the slides reach 0.9462
MAX_TRAIN_TEST_GAP = course_config.MAX_TRAIN_TEST_GAP    # train and test accuracy stay close
GRAD_CHECK_MAX = 1e-7        # relative error of numerical vs backprop gradients (float64)


def _rng(seed):
    return compare_rng(seed)        # per submission while grading (compare.rng)


def _params(sizes, seed, std=0.5, bias=0.1):
    """Fixed float64 params of a net with ``sizes`` = (input, hidden, output)."""
    i, h, o = sizes
    r = _rng(seed)
    return {"W1": std * r.standard_normal((i, h)), "b1": bias * r.standard_normal(h),
            "W2": std * r.standard_normal((h, o)), "b2": bias * r.standard_normal(o)}


def _ref_net(params):
    net = ref.TwoLayerNet(1, 1, 1)
    net.params = {k: v.copy() for k, v in params.items()}
    return net




def _ok(result, hint=None):
    """``result`` of ``_send``, raising its ``CheckFailed`` (with ``hint`` added, unless the
    code is not implemented yet)."""
    if isinstance(result, CheckFailed):
        if hint is None or M.NOT_IMPLEMENTED in str(result):
            raise result
        raise CheckFailed(f"{result}\n{M.HINT.format(hint=hint)}") from None
    return result


PARAMS = "params"      # in a case's calls: read the net's params (after the calls before it)


def _student_nets(check, TwoLayerNet, cases):  # noqa: N803
    """The student's nets, one per case ``(sizes, kwargs, params, calls)``, in two round
    trips: build them all; then for each read its ``params``, replace the entries by
    ``params`` (if not None) and make its ``calls`` ``[(what, args, desc)]``, ``what`` a
    method name, PARAMS, or a student function (``Remote``) called as ``what(net, *args)``.

    Yields ``(params as read before the calls, [result of each call])`` case by case, after
    checking that the net has a dict ``params`` with the four keys; a result is a value or
    the ``CheckFailed`` of the student's exception (see ``_ok``)."""
    student = TwoLayerNet.student
    descs = ["TwoLayerNet(input_size={}, hidden_size={}, output_size={}{})".format(
        *sizes, "".join(f", {k}={v}" for k, v in kwargs.items())) for sizes, kwargs, _, _ in cases]
    nets = send(check, student, [(TwoLayerNet.op(*sizes, **kwargs), desc)
                                  for (sizes, kwargs, _, _), desc in zip(cases, descs)])
    ops, spans = [], []
    for net, desc, (_, _, params, calls) in zip(nets, descs, cases):
        start = len(ops)
        if isinstance(net, Remote):
            p = net.attr("params")
            ops.append((p.get_op(), desc))
            if params is not None:
                ops += [(p.item(k).set_op(params[k]), desc) for k in PARAM_KEYS]
            ops += [(name.op(net, *args) if isinstance(name, Remote) else p.get_op()
                     if name == PARAMS else net.attr(name).op(*args), call_desc)
                    for name, args, call_desc in calls]
        spans.append((start, len(ops)))
    results = send(check, student, ops)
    for net, desc, (start, end), (_, _, params, _) in zip(nets, descs, spans, cases):
        net = _ok(net)
        mine = results[start:end]
        p = mine[0] if mine else None
        require(check, isinstance(p, dict), "ネットワークに辞書 params がありません。", desc=desc,
                hint="__init__ で self.params = {} とし、self.params['W1'] = ... のように入れてください。")
        missing = [k for k in PARAM_KEYS if k not in p]
        require(check, not missing, f"params にキー {missing} がありません。", desc=desc,
                hint=HINTS["grad_keys"].replace("返り値", "params"))
        n_set = 0 if params is None else len(PARAM_KEYS)
        for r in mine[1:1 + n_set]:
            _ok(r)
        yield p, mine[1 + n_set:]


# ----------------------------------------------------------------------------------------
def check_init(TwoLayerNet):  # noqa: N803
    """params: shapes, biases zero, weights ~ weight_init_std * N(0, 1) (mean 0, std)."""
    check = "TwoLayerNet.__init__"
    specs = [((784, 50, 10), None), ((784, 50, 10), 0.1), ((3, 4, 2), None)]
    cases = [(sizes, {} if std is None else {"weight_init_std": std}, None, [])
             for sizes, std in specs]
    for (sizes, kwargs, _, _), (params, _) in zip(cases, _student_nets(check, TwoLayerNet, cases)):
        std = kwargs.get("weight_init_std", 0.01)
        desc = "TwoLayerNet({}, {}, {}{})".format(*sizes, f", weight_init_std={std}" if kwargs else "")
        i, h, o = sizes
        shapes = {"W1": (i, h), "b1": (h,), "W2": (h, o), "b2": (o,)}
        for k in PARAM_KEYS:
            got = np.shape(params[k])
            require(check, got == shapes[k], f"params['{k}'] の形が違います。", desc=desc,
                    expected=shapes[k], got=got, hint=HINTS["shape"])
        for k in ("b1", "b2"):
            require(check, np.all(np.asarray(params[k]) == 0), f"params['{k}'] が 0 ではありません。",
                    desc=desc, got=fmt(params[k]), hint=HINTS["bias_zero"])
        if i * h < 1000:
            continue                      # too few weights for statistics
        W = np.concatenate([np.ravel(params["W1"]), np.ravel(params["W2"])]).astype(float)
        m, s = float(np.mean(W)), float(np.std(W))
        # N(0, s^2): |mean| ~ s / sqrt(N) << s;  uniform [0, a): mean = a/2 ~ 1.7 s
        hint = (HINTS["zero_weights"] if s == 0 else HINTS["uniform"] if abs(m) > 0.5 * s
                else HINTS["std_one"] if abs(s - 1) < 0.1 else None)
        require(check, abs(m) < 0.1 * std and abs(s - std) < 0.1 * std,
                f"重みの初期値の分布が違います (weight_init_std = {std})。", desc=desc,
                expected=f"平均 ≈ 0、標準偏差 ≈ {std}", got=f"平均 {m:.4g}、標準偏差 {s:.4g}",
                hint=hint)


def _predict_hint(x, params):
    """Recognise ReLU / missing sigmoid / missing softmax from the student's output."""
    def hint(got, exp):
        a1 = np.dot(x, params["W1"]) + params["b1"]
        for z1, key in ((np.maximum(a1, 0), "relu"), (a1, "no_sigmoid")):
            a2 = np.dot(z1, params["W2"]) + params["b2"]
            if np.allclose(got, ref.softmax(a2)) or np.allclose(got, a2):
                return HINTS[key]
        a2 = np.dot(ref.sigmoid(a1), params["W2"]) + params["b2"]
        if np.allclose(got, a2):
            return HINTS["no_softmax"]
        if not np.all(np.isfinite(got)):
            return HINTS["softmax_overflow"]
        return None
    return hint


PREDICT_CASES = [  # (description, sizes, seed, batch, scale of W2: 2000 -> logits ~ 1000)
    ("形 (5, 6) の入力、ネットワーク (6, 5, 4)", (6, 5, 4), 1, 5, 1.0),
    ("形 (1, 6) の入力 (1 つのデータのバッチ)", (6, 5, 4), 2, 1, 1.0),
    ("形 (8, 784) の入力、ネットワーク (784, 50, 10)", (784, 50, 10), 3, 8, 1.0),
    ("大きなスコア (1000 程度) になる重み", (6, 5, 4), 4, 5, 2000.0),
]


def _large_scores(params, scale, x):
    """W2 scaled by ``scale``; when scaled, every score is also shifted so that each row's
    largest score is at least 1000: softmax does not change (it is shift-invariant) but
    np.exp(1000) overflows, so a softmax without the max subtraction gives NaN in every row
    whatever the (per-submission) seed.  A fixed shift of +1000 left about 4 % of the seeds
    with no score above 709 (exp's limit), and the naive softmax then kept full marks."""
    params["W2"] *= scale
    if scale > 1:
        scores = ref.sigmoid(np.dot(x, params["W1"]) + params["b1"]) @ params["W2"] + params["b2"]
        params["b2"] += 1000.0 - float(np.min(np.max(scores, axis=1)))
    return params


def check_predict(TwoLayerNet):  # noqa: N803
    """predict = softmax(sigmoid(x W1 + b1) W2 + b2) on batches, incl. logits ~ 1000."""
    check = "TwoLayerNet.predict"
    inputs, cases = [], []
    for desc, sizes, seed, n, scale in PREDICT_CASES:
        x = _rng(seed + 100).random((n, sizes[0]))
        params = _large_scores(_params(sizes, seed, std=0.5 if sizes[0] < 100 else 0.05), scale, x)
        inputs.append((desc, params, x))
        cases.append((sizes, {}, params, [("predict", (x,), desc)]))
    for (desc, params, x), (_, (got,)) in zip(inputs, _student_nets(check, TwoLayerNet, cases)):
        got = _ok(got)
        assert_close(check, got, _ref_net(params).predict(x), desc=desc,
                     hint=_predict_hint(x, params))


def _one_hot(labels, k):
    return np.eye(k)[labels]


def check_loss(TwoLayerNet):  # noqa: N803
    """loss = cross_entropy_error(predict(x), t), averaged over the batch (t one-hot)."""
    check = "TwoLayerNet.loss"
    inputs, cases = [], []
    for desc, sizes, seed, n, scale in PREDICT_CASES:
        x = _rng(seed + 100).random((n, sizes[0]))
        params = _large_scores(_params(sizes, seed, std=0.5 if sizes[0] < 100 else 0.05), scale, x)
        labels = _rng(seed + 200).integers(0, sizes[2], n)
        if scale > 1:   # some samples labelled with their top class: a softmax without the
            # max subtraction gives NaN (inf / inf) exactly there, 0 elsewhere (as expected)
            labels[::2] = np.argmax(_ref_net(params).predict(x), axis=1)[::2]
        t = _one_hot(labels, sizes[2])
        inputs.append((desc, n, params, x, t))
        cases.append((sizes, {}, params, [("loss", (x, t), desc + "、t はワンホット表現")]))
    for (desc, n, params, x, t), (_, (got,)) in zip(inputs,
                                                    _student_nets(check, TwoLayerNet, cases)):
        got = _ok(got)
        expected = _ref_net(params).loss(x, t)

        def hint(g, e, n=n, x=x, params=params):
            if n > 1 and np.isclose(g, n * e):
                return HINTS["loss_sum"]
            if not np.all(np.isfinite(g)):
                return HINTS["softmax_overflow"]
            return _predict_hint(x, params)(g, e) or HINTS["loss_predict"]

        assert_close(check, got, expected, desc=desc + "、t はワンホット表現", hint=hint)


def _own_accuracy(y, labels):
    """The accuracy measured with the student's own predict (its output ``y`` on x), or None
    if it gives no (N, K) array: a wrong predict costs the predict and loss points, not the
    accuracy point too."""
    try:
        if isinstance(y, CheckFailed):   # a broken predict is reported by its own check
            return None
        y = np.asarray(y, dtype=np.float64)
    except Exception:
        return None
    if y.ndim != 2 or y.shape[0] != len(labels) or not np.all(np.isfinite(y)):
        return None
    return float(np.mean(np.argmax(y, axis=1) == labels))


def check_accuracy(TwoLayerNet):  # noqa: N803
    """accuracy = fraction of argmax(predict) == label, t one-hot (N, K) or labels (N,).

    The expected value uses the student's own predict (see ``_own_accuracy``)."""
    check = "TwoLayerNet.accuracy"
    inputs, cases = [], []
    for sizes, seed, n in (((6, 5, 4), 5, 20), ((784, 50, 10), 6, 50), ((6, 5, 10), 7, 10)):
        params = _params(sizes, seed, std=1.0 if sizes[0] < 100 else 0.1, bias=1.0)
        x = _rng(seed + 100).random((n, sizes[0]))
        rnet = _ref_net(params)
        pred = np.argmax(rnet.predict(x), axis=1)
        wrong = _rng(seed + 200).random(n) < 0.4                  # about 60 % correct
        labels = np.where(wrong, (pred + 1 + _rng(seed + 300).integers(0, sizes[2] - 1, n))
                          % sizes[2], pred)
        for kind, t in (("ワンホット表現", _one_hot(labels, sizes[2])), ("ラベル (形 (N,))", labels)):
            desc = f"x: 形 {x.shape}, t: {kind}"
            inputs.append((n, x, rnet, labels, kind, t, desc))
            cases.append((sizes, {}, params, [("accuracy", (x, t), desc), ("predict", (x,), desc)]))
    for (n, x, rnet, labels, kind, t, desc), (_, (got, y)) in zip(
            inputs, _student_nets(check, TwoLayerNet, cases)):
        got = _ok(got, HINTS["acc_no_argmax"] if t.ndim == 2 else HINTS["acc_labels"])
        expected = _own_accuracy(y, labels)
        if expected is None:
            expected = rnet.accuracy(x, t)

        def hint(g, e, n=n, kind=kind):
            g = float(np.ravel(g)[0]) if np.size(g) == 1 else None
            if g is None:
                return HINTS["acc_no_argmax"]
            if np.isclose(g, 100 * e):
                return HINTS["acc_percent"]
            if np.isclose(g, n * e):
                return HINTS["acc_count"]
            return HINTS["acc_no_argmax"] if kind.startswith("ワンホット") else HINTS["acc_labels"]

        assert_close(check, got, expected, desc=desc, hint=hint)


def _as_grads(check, grads, desc):
    require(check, isinstance(grads, dict), "勾配が辞書 (dict) ではありません。", desc=desc,
            got=type(grads).__name__, hint=HINTS["grad_keys"])
    missing = [k for k in PARAM_KEYS if k not in grads]
    require(check, not missing, f"勾配の辞書にキー {missing} がありません。", desc=desc,
            hint=HINTS["grad_keys"])
    return grads


def check_numerical_gradient(TwoLayerNet):  # noqa: N803
    """numerical_gradient(x, t): dict of central-difference gradients, params left unchanged."""
    check = "TwoLayerNet.numerical_gradient"
    sizes, n = (4, 3, 3), 2
    params = _params(sizes, 8)
    x = _rng(108).random((n, sizes[0]))
    t = _one_hot(_rng(208).integers(0, sizes[2], n), sizes[2])
    desc = f"ネットワーク {sizes}, x: 形 {x.shape}, t: ワンホット表現"
    cases = [(sizes, {}, params, [("numerical_gradient", (x, t), desc), (PARAMS, (), desc)])]
    _, (grads, after) = next(_student_nets(check, TwoLayerNet, cases))
    grads = _as_grads(check, _ok(grads), desc)
    after = _ok(after)
    for k in PARAM_KEYS:
        require(check, isinstance(after, dict) and np.array_equal(after.get(k), params[k]),
                f"numerical_gradient のあと params['{k}'] が元の値に戻っていません。", desc=desc)
    with quiet():
        expected = _ref_net(params).numerical_gradient(x, t)
    for k in PARAM_KEYS:
        assert_close(check, grads[k], expected[k], desc=f"{desc} の勾配 ['{k}']", tol="numerical",
                     hint=lambda g, e: HINTS["grad_zero"] if np.all(g == 0) else None)


def rel_error(a, b):
    """Relative error ||a - b|| / (||a|| + ||b||) of two gradients (0 when both are 0)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    den = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / den) if den else 0.0


def check_gradient_check(grad_errors, TwoLayerNet):  # noqa: N803
    """The student's grad_errors are all < 1e-7 (and not 0); their numerical_gradient agrees
    with the reference backprop gradient on a small float64 net to the same precision."""
    check = "勾配確認 (gradient check)"
    grad_errors = value_of(check, grad_errors)
    require(check, isinstance(grad_errors, dict) and all(k in grad_errors for k in PARAM_KEYS),
            "grad_errors は 'W1', 'b1', 'W2', 'b2' をキーとする辞書にしてください。",
            got=fmt(grad_errors), hint=HINTS["grad_check"])
    for k in PARAM_KEYS:
        try:
            e = float(np.asarray(grad_errors[k]))
        except (TypeError, ValueError):
            fail(check, f"grad_errors['{k}'] が数値ではありません。", got=fmt(grad_errors[k]),
                 hint=HINTS["grad_check"])
        require(check, e != 0, f"grad_errors['{k}'] が 0 です。", hint=HINTS["grad_check_same"])
        require(check, 0 < e < GRAD_CHECK_MAX, f"grad_errors['{k}'] が {GRAD_CHECK_MAX:g} 以上です。",
                got=repr(e), hint=HINTS["grad_check"])
    sizes, n = (5, 4, 3), 3
    params = _params(sizes, 9, std=1.0, bias=0.1)
    x = _rng(109).random((n, sizes[0]))
    t = _one_hot(_rng(209).integers(0, sizes[2], n), sizes[2])
    desc = f"ネットワーク {sizes} (float64), x: 形 {x.shape}"
    cases = [(sizes, {}, params, [("numerical_gradient", (x, t), desc)])]
    _, (grads,) = next(_student_nets(check, TwoLayerNet, cases))
    grads = _as_grads(check, _ok(grads), desc)
    backprop = _ref_net(params).gradient(x, t)
    for k in PARAM_KEYS:
        e = rel_error(grads[k], backprop[k]) if np.shape(grads[k]) == backprop[k].shape else np.inf
        require(check, e < GRAD_CHECK_MAX,
                f"あなたの numerical_gradient と誤差逆伝播法の勾配 ['{k}'] の相対誤差が大きすぎます。",
                desc=desc, expected=f"< {GRAD_CHECK_MAX:g}", got=repr(e),
                hint="TwoLayerNet.numerical_gradient を確認してください。")


# ----------------------------------------------------------------------------------------
STEP_CASES = [  # (description, sizes, seed, batch size, dtype, steps; x from MNIST if 784)
    ("ネットワーク (6, 5, 4)、ミニバッチ 5 個", (6, 5, 4), 10, 5, np.float64, 1),
    ("ネットワーク (784, 50, 10) (float32)、訓練データのミニバッチ 10 個を続けて 2 回",
     (784, 50, 10), 11, 10, np.float32, 2),
]
STEP_LR = (0.2, 0.8)        # learning rates drawn per step: never the notebook's 0.1, never 1


def _step_inputs(train_step):
    """``(cases for _student_nets, [(desc, dtype, start params, [(x, t, lr)])])`` of
    ``STEP_CASES``: states, mini-batches (real MNIST images for the MNIST-sized net) and
    learning rates drawn from this submission's seed."""
    cases, inputs = [], []
    for desc, sizes, seed, n, dtype, steps in STEP_CASES:
        r = _rng(seed + 500)
        params = {k: v.astype(dtype) for k, v in _params(sizes, seed + 400, std=0.5 if
                                                         sizes[0] < 100 else 0.1).items()}
        if sizes[0] == 784:
            with quiet():
                (x_all, labels), _ = ref.load_mnist(normalize=True, verbose=False)
        batches = []
        for _ in range(steps):
            if sizes[0] == 784:
                rows = r.integers(0, len(x_all), n)
                x, t = x_all[rows].astype(dtype), _one_hot(labels[rows], 10).astype(dtype)
            else:
                x = r.random((n, sizes[0])).astype(dtype)
                t = _one_hot(r.integers(0, sizes[2], n), sizes[2]).astype(dtype)
            batches.append((x, t, float(np.round(r.uniform(*STEP_LR), 3))))
        calls = []
        for x, t, lr in batches:
            call_desc = f"{desc}、学習率 {lr}"
            calls += [(train_step, (x, t, lr), call_desc), (PARAMS, (), call_desc)]
        cases.append((sizes, {}, params, calls))
        inputs.append((desc, dtype, params, batches))
    return cases, inputs


def _step_hint(before, lr, dtype, bias):
    """Recognise no update, the wrong sign, no or a fixed learning rate from one parameter."""
    rtol, atol = TOLERANCES["float32" if dtype == np.float32 else "float"]

    def hint(got, expected):
        update = expected - before
        for value, key in ((before, "step_bias" if bias else "step_no_update"),
                           (before - update, "step_sign"), (before + update / lr, "step_no_lr"),
                           (before + update * 0.1 / lr, "step_fixed_lr")):
            if np.allclose(got, value, rtol=rtol, atol=atol):
                return HINTS[key].format(key=bias) if key == "step_bias" else HINTS[key]
        return HINTS["step_grad"]
    return hint


def _check_step(check, train_step, TwoLayerNet):  # noqa: N803
    """The student's ``train_step`` on every ``STEP_CASES`` case (two round trips): after
    each step every parameter equals ``reference.train_step``'s from the same state."""
    cases, inputs = _step_inputs(train_step)
    try:
        nets = list(_student_nets(check, TwoLayerNet, cases))
    except CheckFailed as exc:
        raise CheckFailed(M.render(check, "train_step を確かめるためのネットワークを TwoLayerNet で"
                                   "作れませんでした。", hint="先に問 1 の TwoLayerNet のテストを"
                                   "通してください。") + f"\n{exc}") from None
    for (desc, dtype, params, batches), (_, results) in zip(inputs, nets):
        rnet = _ref_net(params)
        for (x, t, lr), (returned, after) in zip(batches, zip(results[::2], results[1::2])):
            _ok(returned)
            after = _ok(after)
            call_desc = f"{desc}、学習率 {lr}"
            require(check, isinstance(after, dict) and all(k in after for k in PARAM_KEYS),
                    "train_step のあと network.params に 'W1', 'b1', 'W2', 'b2' がありません。",
                    desc=call_desc, hint=HINTS["step_grad"])
            before = {k: v.copy() for k, v in rnet.params.items()}
            with quiet():
                ref.train_step(rnet, x, t, lr)
            for k in PARAM_KEYS:
                assert_close(check, after[k], rnet.params[k], desc=f"{call_desc} の更新後の "
                             f"params['{k}']", tol="float32" if dtype == np.float32 else "float",
                             hint=_step_hint(before[k], lr, dtype, k if k[0] == "b" else None))


def check_train_step(train_step, TwoLayerNet):  # noqa: N803
    """train_step(network, x_batch, t_batch, learning_rate): one step of mini-batch SGD with
    ``network.gradient``, all four parameters, in place; from the grader's states,
    mini-batches and learning rates (seeded per submission), compared with the reference."""
    _check_step("train_step (パラメータの更新)", train_step, TwoLayerNet)


def _require_step(check, train_step, TwoLayerNet):  # noqa: N803
    """Training points only for a network trained by a working step: the student's
    ``train_step`` must pass ``check_train_step``'s cases (the same states and mini-batches)."""
    try:
        _check_step(check, train_step, TwoLayerNet)
    except CheckFailed:
        fail(check, "パラメータの更新 train_step (問 3) のテストが通っていないので、"
                    "この学習は採点できません。",
             hint="学習の点は、採点で train_step を別の重み・ミニバッチ・学習率で呼び出し、"
                  "正しく更新されることを確かめてから与えます。上の train_step のテストを通し、"
                  "学習のセルでは train_step を呼び出して学習させてください。")


def check_training_history(train_loss_list, train_acc_list, test_acc_list, network,  # noqa: N803
                           train_step, TwoLayerNet, iters_num=10000, iter_per_epoch=600):
    """The student's ``train_step`` works (``_require_step``); lengths (10000 / 17 / 17),
    losses finite and decreasing, accuracies in [0, 1] rising, and the record ends where the
    trained ``network`` is: its last accuracies and the mean of its last 100 mini-batch
    losses agree with ``network.params`` measured here on MNIST (a made-up record next to an
    untrained network gains nothing)."""
    check = "ミニバッチ学習の記録"
    _require_step(check, train_step, TwoLayerNet)
    train_loss_list, train_acc_list, test_acc_list = (
        value_of(check, v) for v in (train_loss_list, train_acc_list, test_acc_list))
    n_epochs = len(range(0, iters_num, iter_per_epoch))          # i = 0, 600, ..., 9600 -> 17
    for name, lst in (("train_acc_list", train_acc_list), ("test_acc_list", test_acc_list)):
        n = len(lst) if hasattr(lst, "__len__") else None
        hint = HINTS["every_iteration"] if n == iters_num else HINTS["epoch_count"]
        require(check, n == n_epochs, f"{name} の長さが {n_epochs} ではありません。",
                expected=n_epochs, got=n, hint=hint)
        a = np.asarray(lst, dtype=float)
        require(check, np.all((a >= 0) & (a <= 1)), f"{name} の値が 0〜1 の範囲にありません。",
                got=fmt(a), hint=HINTS["acc_percent"])
        require(check, a[-1] > a[0] + 0.5, f"{name} の認識精度が上がっていません。",
                got=fmt(a), hint=HINTS["not_learning"])
    n = len(train_loss_list) if hasattr(train_loss_list, "__len__") else None
    require(check, n == iters_num, f"train_loss_list の長さが {iters_num} ではありません。",
            expected=iters_num, got=n, hint=HINTS["loss_every"])
    try:
        loss = np.asarray([float(np.asarray(v)) for v in train_loss_list])
    except (TypeError, ValueError):
        fail(check, "train_loss_list に数値でない値があります。", got=fmt(train_loss_list[:3]),
             hint="network.loss(x_batch, t_batch) の値 (1 つの数) を追加してください。")
    require(check, np.all(np.isfinite(loss)), "train_loss_list に NaN や inf があります。",
            hint=HINTS["softmax_overflow"])
    first, last = loss[:100].mean(), loss[-100:].mean()
    require(check, last < 0.5 * first, "損失が十分に減っていません。",
            expected="最後の 100 回の平均 < 最初の 100 回の平均の半分",
            got=f"最初の 100 回の平均 {first:.4g}、最後の 100 回の平均 {last:.4g}",
            hint=HINTS["not_learning"])
    m = _measure(check, network, need_biases=False)    # (unchanged biases: the result's point)
    _last_accuracies_agree(check, train_acc_list, test_acc_list, m)
    require(check, abs(last - m.train_loss) < 0.05 + 0.25 * m.train_loss,
            "train_loss_list の最後の値が、学習後のネットワークの損失と大きく違います。",
            expected=f"{m.train_loss:.4f} (学習後の network.loss(x_train, t_train)) に近い値",
            got=f"最後の 100 回の平均 {last:.4f}",
            hint="損失は毎回の更新の後に network.loss(x_batch, t_batch) で求めて記録してください。")


class _Measured:
    """The trained network as the grader measures it (reference predict, real MNIST)."""

    def __init__(self, params):
        rnet = _ref_net({k: np.asarray(params[k], dtype=np.float32) for k in PARAM_KEYS})
        with quiet():
            (x_train, t_train), (x_test, t_test) = ref.load_mnist(normalize=True, verbose=False)
            self.train_acc, self.test_acc = rnet.accuracy(x_train, t_train), rnet.accuracy(x_test, t_test)
            self.train_loss = float(rnet.loss(x_train, t_train))
        self.text = f"訓練データ {self.train_acc:.4f}、テストデータ {self.test_acc:.4f}"


def _measure(check, network, need_biases=True):
    """``network.params`` fetched as plain arrays, shape-checked (and, ``need_biases``, with
    both biases updated) and measured (_Measured)."""
    params = _network_params(check, network)
    require(check, isinstance(params, dict) and all(k in params for k in PARAM_KEYS),
            "network.params に 'W1', 'b1', 'W2', 'b2' がありません。",
            hint="学習させた TwoLayerNet を network という名前にしてください。")
    shapes = {"W1": (784, 50), "b1": (50,), "W2": (50, 10), "b2": (10,)}
    for k in PARAM_KEYS:
        require(check, np.shape(params[k]) == shapes[k], f"network.params['{k}'] の形が違います。",
                expected=shapes[k], got=np.shape(params[k]),
                hint="TwoLayerNet(input_size=784, hidden_size=50, output_size=10) です。")
    for k in ("b1", "b2") if need_biases else ():
        require(check, np.any(np.asarray(params[k]) != 0), f"network.params['{k}'] が 0 のままです。",
                hint=HINTS["bias_not_updated"].format(key=k))
    return _Measured(params)


def _last_accuracies_agree(check, train_acc_list, test_acc_list, m):
    """The recorded accuracies (plain values) end at the measured ones."""
    _, gap = TOLERANCES["training"]
    for name, lst, acc in (("train_acc_list", train_acc_list, m.train_acc),
                           ("test_acc_list", test_acc_list, m.test_acc)):
        try:
            last = float(np.asarray(lst[-1]))
        except (TypeError, ValueError, IndexError, KeyError):
            last = float("nan")
        require(check, abs(last - acc) < gap,
                f"{name} の最後の値が、学習後のネットワークの認識精度と大きく違います。",
                expected=f"{acc:.4f} に近い値", got=repr(last),
                hint="認識精度は network.accuracy(x_train, t_train) / network.accuracy(x_test, t_test) "
                     "で求めて記録してください。")


def check_training_result(network, train_acc_list, test_acc_list, train_step,  # noqa: N803
                          TwoLayerNet):
    """The student's ``train_step`` works (``_require_step``); the final network (params
    re-measured with the reference on real MNIST) reaches test accuracy >= MIN_TEST_ACCURACY
    with |train - test| < MAX_TRAIN_TEST_GAP; all four parameters were updated; the last
    recorded accuracies agree with the network."""
    check = "ミニバッチ学習の結果"
    _require_step(check, train_step, TwoLayerNet)
    m = _measure(check, network)
    require(check, m.test_acc >= MIN_TEST_ACCURACY,
            f"学習後のテストデータの認識精度が {MIN_TEST_ACCURACY} 未満です。",
            expected=f">= {MIN_TEST_ACCURACY}", got=m.text,
            hint=HINTS["low_accuracy"].format(need=MIN_TEST_ACCURACY))
    require(check, abs(m.train_acc - m.test_acc) < MAX_TRAIN_TEST_GAP,
            f"訓練データとテストデータの認識精度の差が {MAX_TRAIN_TEST_GAP} 以上です。",
            got=m.text, hint="学習の設定 (ハイパーパラメータ) がスライドと同じか確認してください。")
    _last_accuracies_agree(check, value_of(check, train_acc_list), value_of(check, test_acc_list), m)


def _network_params(check, network):
    """The value of ``network.params`` (plain arrays), None if the object has no params."""
    try:
        return network.attr("params").value()
    except StudentError as exc:
        if exc.etype == "AttributeError":
            return None
        if exc.etype == "NameError":
            raise CheckFailed(M.render(check, M.NOT_DEFINED.format(name=network.label))) from None
        raise student_failure(check, exc) from None
