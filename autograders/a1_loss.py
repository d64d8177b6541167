"""Hidden checks of a1_loss 「損失関数」: the student's loss functions against reference/losses.

Each ``check_<name>(student_func)`` runs the student's function on fixed and seeded random
inputs (the slides' values, zeros in y, one sample and batches, integer and float32 arrays),
compares with the reference and raises ``CheckFailed`` with a Japanese message at the first
difference.  Typical mistakes are recognised from the ratio got / expected and get a hint.
"""
import numpy as np

from reference import losses as ref

from . import messages as M
from .compare import CheckFailed, assert_close, call_many, fmt
from .compare import rng as compare_rng

HINTS = {
    "sse_no_half": "1/2 (0.5) を掛け忘れていませんか？ E = 1/2 Σ_k (y_k - t_k)^2 です。",
    "sse_mean": "平均 (np.mean) ではなく和 (np.sum) をとってください。",
    "sse_formula": "E = 1/2 Σ_k (y_k - t_k)^2 : 差を 2 乗してから全部足し、0.5 を掛けます。",
    "ce_no_delta": "y に 0 があると log(0) = -inf になり、0 × (-inf) は NaN になります。"
                   "delta = 1e-7 を log の中で足してください: np.log(y + delta)"
                   " (log の外で足しても log(0) は防げません)。",
    "ce_sign": "符号が逆です。E = -Σ_k t_k log y_k の先頭のマイナスを忘れていませんか？",
    "ce_log10": "log は底が e の自然対数です。np.log10 ではなく np.log を使ってください。",
    "ce_log2": "log は底が e の自然対数です。np.log2 ではなく np.log を使ってください。",
    "ce_delta": "y = 0 のときの値が違います。delta = 1e-7 を log の中で足していますか？"
                " (正解クラスの y が 0 なら E = -log(1e-7) ≈ 16.118)",
    "ce_formula": "E = -Σ_k t_k log(y_k + delta), delta = 1e-7 です。t と log(y + delta) の要素ごとの積を足します。",
    "ce_not_averaged": "データ数 N (batch_size = y.shape[0]) で割って平均するのを忘れていませんか？"
                       " 和のままだとバッチが大きいほど損失が大きくなります。",
    "ce_mean_all": "np.mean は全要素 (N × クラス数) で割ってしまいます。"
                   "割るのはデータ数 N = y.shape[0] だけです。",
    "ce_one_sample": "データが 1 つ (1 次元の y) のときは、先に y.reshape(1, y.size) "
                     "(t も同様) でバッチ 1 個の形にしてから batch_size を求めてください。",
    "ce_shape_call": "y.shape はタプル (関数ではない) なので y.shape(0) とは書けません。"
                     "y.shape[0] と角括弧で書きます。",
    "ce_labels": "t が正解ラベル (インデックス, 例: [2, 0, 7]) のときは、ワンホット表現のように"
                 " t を掛けることはできません。y[np.arange(batch_size), t] で各データの正解クラスの"
                 "出力だけを取り出して log をとります (t.size == y.size ならワンホット表現)。",
    "ce_columns": "y[:, t] のように書くと、各行から t のすべての列を取り出してしまいます。"
                  "データ n ごとに、正解クラス t[n] の出力 1 つだけを取り出してください"
                  " (y[np.arange(batch_size), t])。",
    "ce_label_one": "データが 1 つでラベルが np.int64(2) や np.array([2]) のときも動くように、"
                    "t も reshape してください。",
}

# the slides' example: correct class 2; y1 is a good answer, y2 a bad one
T_SLIDES = np.array([0, 0, 1, 0, 0])
Y1_SLIDES = np.array([0.1, 0.05, 0.6, 0.0, 0.1])
Y2_SLIDES = np.array([0.1, 0.05, 0.1, 0.0, 0.1])


# --- helpers --------------------------------------------------------------------------------
def _softmax_rows(n, k, rng, scale=2.0, dtype=np.float64):
    """(n, k) rows of probabilities, like a network's softmax output."""
    a = rng.normal(scale=scale, size=(n, k))
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(dtype)


def _one_hot(labels, k):
    return np.eye(k, dtype=np.int64)[labels]


def _ratio_hint(rules):
    """A hint function (got, expected) -> text: the first (ratio, key) with got ≈ ratio*expected."""
    def hint(got, expected):
        if np.size(got) != 1 or np.size(expected) != 1:
            return None
        g, e = float(np.ravel(got)[0]), float(np.ravel(expected)[0])
        if not (np.isfinite(g) and np.isfinite(e)) or e == 0:
            return None
        for ratio, key in rules:
            if ratio != 1 and np.isclose(g, ratio * e, rtol=1e-4, atol=0):
                return HINTS[key]
        return None
    return hint


def _with_fallback(first, fallback):
    """Hint function: ``first`` if it recognises the mistake, else the text ``fallback``."""
    return lambda got, expected: first(got, expected) or fallback


def _with_hint(exc, on_error):
    """``exc`` (the student's code raised) with the hint ``on_error(message)`` added."""
    text = str(exc)
    hint = on_error(text) if on_error and M.NOT_IMPLEMENTED not in text else None
    return CheckFailed(text + "\n" + M.HINT.format(hint=hint)) if hint else exc


def _run_cases(check, func, cases, *, on_error=None):
    """Each case: (desc, args, expected, hint function); all calls in one round trip."""
    results = call_many(check, [(func, args, desc) for desc, args, _, _ in cases])
    for (desc, _, expected, hint), got in zip(cases, results):
        if isinstance(got, CheckFailed):
            raise _with_hint(got, on_error)
        assert_close(check, got, expected, desc=desc, tol="float32", hint=hint)


def _desc(y, t, name_y="y", name_t="t"):
    return f"{name_y} = {fmt(y)}, {name_t} = {fmt(t)}"


# --- 2乗和誤差 --------------------------------------------------------------------------------
def check_sum_squared_error(sum_squared_error):
    """sum_squared_error(y, t) = 1/2 Σ (y - t)^2 for one sample (1-D arrays).

    Inputs: the slides' y1, y2 (0.09125, 0.41625), a random 10-class softmax output with an
    integer one-hot t, float32 y, y == t (0), an integer y, values outside [0, 1].
    """
    check = "2乗和誤差 sum_squared_error"
    rng = compare_rng(1)
    y10 = _softmax_rows(1, 10, rng)[0]
    t10 = _one_hot(3, 10)
    ys = [Y1_SLIDES, Y2_SLIDES, y10, y10.astype(np.float32), T_SLIDES.astype(np.float64),
          np.array([0, 1, 0, 0, 0]), np.array([1.5, -0.5, 2.0])]
    ts = [T_SLIDES, T_SLIDES, t10, t10, T_SLIDES, T_SLIDES, np.array([1.0, 0.0, 0.0])]
    cases = []
    for y, t in zip(ys, ts):
        k = y.size
        hint = _with_fallback(_ratio_hint([(2, "sse_no_half"), (1 / k, "sse_mean"),
                                           (2 / k, "sse_mean")]), HINTS["sse_formula"])
        cases.append((_desc(y, t), (y, t), ref.sum_squared_error(y, t), hint))
    _run_cases(check, sum_squared_error, cases)


# --- 交差エントロピー誤差 (データ 1 つ) ----------------------------------------------------------
def _ce_hint(k):
    """Hints for one value of cross-entropy: NaN/inf, sign, log base, mean over k elements."""
    ratio = _ratio_hint([(-1, "ce_sign"), (1 / np.log(10), "ce_log10"), (1 / np.log(2), "ce_log2"),
                         (1 / k, "ce_mean_all")])

    def hint(got, expected):
        g = np.asarray(got, dtype=np.float64)
        if not np.isfinite(g).all():
            return HINTS["ce_no_delta"]
        return ratio(got, expected)
    return hint


def check_cross_entropy_error(cross_entropy_error):
    """cross_entropy_error(y, t) = -Σ t log(y + 1e-7) for one sample: 1-D y, one-hot 1-D t.

    Inputs: the slides' y1, y2; y with zeros where t = 0 (no delta gives NaN); y = 0 at the
    correct class (finite only with delta inside the log: 16.118); a random 10-class output
    (float64 and float32) with an integer one-hot t.
    """
    check = "交差エントロピー誤差 cross_entropy_error (データ 1 つ)"
    rng = compare_rng(2)
    y10 = _softmax_rows(1, 10, rng)[0]
    y_zero = np.array([0.1, 0.05, 0.0, 0.0, 0.85])        # y = 0 at the correct class 2
    cases = []
    for y, fallback in [(Y1_SLIDES, "ce_formula"), (Y2_SLIDES, "ce_formula"),
                        (y_zero, "ce_delta")]:
        cases.append((_desc(y, T_SLIDES), (y, T_SLIDES), ref.cross_entropy_error(y, T_SLIDES),
                      _with_fallback(_ce_hint(5), HINTS[fallback])))
    t10 = _one_hot(7, 10)
    for y in [y10, y10.astype(np.float32)]:
        cases.append((_desc(y, t10), (y, t10), ref.cross_entropy_error(y, t10),
                      _with_fallback(_ce_hint(10), HINTS["ce_formula"])))
    _run_cases(check, cross_entropy_error, cases)


# --- バッチ対応 (ワンホット) -------------------------------------------------------------------
def _shape_call_hint(message):
    return HINTS["ce_shape_call"] if "object is not callable" in message else None


def _batch_hint(n, k):
    """Hints for a batch of n samples of k classes."""
    ratio = _ratio_hint([(n, "ce_not_averaged"), (1 / k, "ce_mean_all"),
                         (n / k, "ce_mean_all")] + ([(1 / np.log(10), "ce_log10"),
                                                     (-1, "ce_sign")]))

    def hint(got, expected):
        if not np.isfinite(np.asarray(got, dtype=np.float64)).all():
            return HINTS["ce_no_delta"]
        return ratio(got, expected)
    return hint


def check_cross_entropy_error_batch(cross_entropy_error):
    """Batch cross-entropy with one-hot t: -1/N Σ_n Σ_k t_nk log(y_nk + 1e-7).

    Inputs: the slides' y1 and y2 as a batch of 2; random batches of 5 and 100 samples of 10
    classes (float64, float32 with zeros); a batch of one (1, K); and one sample as 1-D
    arrays, which must give the same value as the 1-sample version.
    """
    check = "バッチ対応の交差エントロピー誤差 cross_entropy_error (ワンホット)"
    rng = compare_rng(3)
    y2b, t2b = np.stack([Y1_SLIDES, Y2_SLIDES]), np.stack([T_SLIDES, T_SLIDES])
    y5, t5 = _softmax_rows(5, 10, rng), _one_hot(rng.integers(0, 10, 5), 10)
    y100 = _softmax_rows(100, 10, rng, scale=4.0, dtype=np.float32)
    y100[rng.random((100, 10)) < 0.1] = 0.0                  # zeros in y
    t100 = _one_hot(rng.integers(0, 10, 100), 10)
    y1b, t1b = y5[:1], t5[:1]
    cases = []
    for name, y, t in [("スライドの y1, y2 を並べたバッチ (2, 5)", y2b, t2b),
                       ("乱数のバッチ (5, 10), t はワンホット", y5, t5),
                       ("乱数のバッチ (100, 10) float32 (0 を含む), t はワンホット", y100, t100),
                       ("データ 1 つのバッチ (1, 10)", y1b, t1b)]:
        n, k = y.shape
        desc = f"{name}: y = {fmt(y)}, t = {fmt(t)}"
        cases.append((desc, (y, t), ref.cross_entropy_error(y, t),
                      _with_fallback(_batch_hint(n, k), HINTS["ce_formula"])))
    one = _with_fallback(_ratio_hint([(1 / 5, "ce_one_sample")]), HINTS["ce_one_sample"])
    cases.append(("データ 1 つ (1 次元): " + _desc(Y1_SLIDES, T_SLIDES), (Y1_SLIDES, T_SLIDES),
                  ref.cross_entropy_error(Y1_SLIDES, T_SLIDES), one))
    _run_cases(check, cross_entropy_error, cases, on_error=_shape_call_hint)


# --- バッチ対応 (正解ラベル) -------------------------------------------------------------------
def _labels_hint(y, t):
    """Hints for label t: ``y[:, t]`` (every labelled column of every row), then the batch's."""
    n, k = y.shape
    labels = np.asarray(t).astype(int)
    with np.errstate(all="ignore"):
        columns = -np.sum(np.log(y[:, labels] + 1e-7)) / n
        no_delta = -np.sum(np.log(y[np.arange(n), labels])) / n
    batch = _batch_hint(n, k)

    def like(got, expected, value):
        return np.size(got) == 1 and np.isfinite(value) and \
            not np.isclose(value, float(np.ravel(expected)[0]), rtol=1e-4) and \
            np.isclose(float(np.ravel(got)[0]), value, rtol=1e-4)

    def hint(got, expected):
        if len(np.unique(t)) > 1 and like(got, expected, columns):
            return HINTS["ce_columns"]
        # a correct-class y so small (~1e-7) that the missing delta shows without a 0
        if like(got, expected, no_delta):
            return HINTS["ce_no_delta"]
        return batch(got, expected)
    return hint


def check_cross_entropy_error_labels(cross_entropy_error):
    """Batch cross-entropy with t given as label indices (N,), as load_mnist(one_hot_label=False).

    Inputs: the slides' batch with labels [2, 2]; random batches of 3 and 100 samples
    (int64 and uint8 labels, zeros in y, always at some correct classes); one sample (1-D y) with a NumPy integer label.
    """
    check = "バッチ対応の交差エントロピー誤差 cross_entropy_error (正解ラベル)"
    rng = compare_rng(4)
    y2b = np.stack([Y1_SLIDES, Y2_SLIDES])
    y3, l3 = _softmax_rows(3, 4, rng), np.array([3, 0, 1])
    y100 = _softmax_rows(100, 10, rng, scale=4.0)
    y100[rng.random((100, 10)) < 0.1] = 0.0
    l100 = rng.integers(0, 10, 100).astype(np.uint8)
    # y = 0 at the correct class of every 10th sample, whatever the seed: without the delta
    # inside the log the loss is then inf and gets the delta's hint (the random zeros alone
    # missed every correct class for about 2 seeds in 100,000, and the hint was the labels')
    y100[np.arange(0, 100, 10), l100[::10]] = 0.0
    cases = []
    # the slides' batch last: with labels [2, 2], y[:, t] and a missing 1/N look the same
    for name, y, t in [("乱数のバッチ (3, 4), 正解ラベル", y3, l3),
                       ("乱数のバッチ (100, 10) (0 を含む), 正解ラベル uint8", y100, l100),
                       ("スライドの y1, y2 のバッチ (2, 5), 正解ラベル", y2b, np.array([2, 2]))]:
        desc = f"{name}: y = {fmt(y)}, t = {fmt(t)}"
        cases.append((desc, (y, t), ref.cross_entropy_error(y, t),
                      _with_fallback(_labels_hint(y, t), HINTS["ce_labels"])))
    _run_cases(check, cross_entropy_error, cases,
               on_error=lambda msg: _shape_call_hint(msg) or HINTS["ce_labels"])
    one = [(f"データ 1 つ (1 次元): y = {fmt(Y1_SLIDES)}, t = {t!r}", (Y1_SLIDES, t),
            ref.cross_entropy_error(Y1_SLIDES, t), HINTS["ce_label_one"])
           for t in (np.int64(2), np.array([2]))]
    _run_cases(check, cross_entropy_error, one, on_error=lambda msg: HINTS["ce_label_one"])
