# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] nbgrader={"grade": false, "grade_id": "a2_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # 課題 2: 数値微分と勾配
#
# 学習では、損失関数の値が小さくなる方向へ重みパラメータを少しずつ動かします。その「方向」を
# 教えてくれるのが **微分** と **勾配 (gradient)** です。この課題では、式を変形して求める
# **解析的な微分** ではなく、小さな差を実際に計算して近似する **数値微分 (numerical differentiation)**
# を実装します。
#
# この課題で学ぶこと:
#
# 1. **数値微分** `numerical_diff` を中心差分で実装し、h の選び方による誤差を確かめる
# 2. 2 変数の関数の **偏微分 (partial derivative)** を数値微分で求める
# 3. すべての変数の偏微分をまとめた **勾配** を求める `numerical_gradient` を、ベクトルにも
#    重み行列にも使えるように実装する
# 4. 勾配のグラフを描き、勾配にマイナスを付けた向きが「関数の値が低くなる方向」であることを見る
#
# ## 進め方
#
# - `# ここにコードを書いてください (YOUR CODE HERE)` と `raise NotImplementedError(...)` の部分を
#   消して、自分のコードを書きます。
# - 各問のすぐ下の **テストセル** を実行して確かめます (テストセルは書き換えないでください)。
#   何も表示されずエラーも出なければ、見えているテストには合格です。提出後は、別の入力での
#   見えていないテスト (**隠しテスト**) でも採点されます。
# - 「ここに解答を書いてください」と書かれたテキストのセル (記述問題) には、日本語の文章で答えます
#   (教員が採点します)。
# - ノートブックの最後の「提出の前に」に、提出前の確認の手順と、すべてのテストセルの結果をまとめた表があります。
#
# ## 実行環境
#
# - **Jupyter Notebook / JupyterLab**: このノートブックと同じフォルダに `check_summary.py` (一緒に配布される
#   ファイルです。最後の「テストの結果のまとめ」の表を作ります) を置き、上のセルから順に実行します。
#   インターネット接続は不要です (使うのは NumPy と Matplotlib だけです)。
# - **Google Colab**: アップロードするファイルは 2 つです。
#   1. このノートブック: 「ファイル → ノートブックをアップロード」で開きます (Google ドライブのマウントは不要です)。
#   2. `check_summary.py`: 左端の「ファイル」(フォルダのアイコン) を開き、「セッション ストレージにアップロード」で、
#      最初に表示されるフォルダ (`/content`: ノートブックが実行されるフォルダ) に置きます。
#
#   ランタイムがリセットされると (しばらく操作しなかったとき、「ランタイムを接続解除して削除」をしたときなど)、
#   アップロードした `check_summary.py`、実行の結果と変数は消えます。そのときは `check_summary.py` をもう一度
#   アップロードして、上から実行し直してください。提出するのは「ファイル → ダウンロード → .ipynb をダウンロード」で
#   保存した .ipynb です。

# %% nbgrader={"grade": false, "grade_id": "a2_imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np
import matplotlib.pyplot as plt

# %% nbgrader={"grade": false, "grade_id": "a2_test_helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
# テストセルで使う補助関数です (読まなくてもかまいません)。テストが通らなかったとき、期待値と
# あなたの値を並べ、その値がよくある間違いと一致すれば、どこが違うかのヒントを表示します。
def _show(v):
    """値を 1 行で短く表示する (小数は 8 桁まで)。"""
    if isinstance(v, str):
        return v
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.8g}"
    if isinstance(v, (np.ndarray, list)):
        return " ".join(np.array2string(np.asarray(v), precision=8, separator=", ").split())
    return repr(v.item() if isinstance(v, np.generic) else v)


def _explain(got, expected, what, mistakes=(), otherwise=""):
    """「what: 期待値 …、あなたの値 …。」とヒント。mistakes は (よくある間違いの値, ヒント) の並び。"""
    text = f"{what}: 期待値 {_show(expected)}、あなたの値 {_show(got)}。"
    if got is None:
        return text + "値が返されていません (None)。return を書き忘れていませんか？"
    for value, hint in mistakes:
        try:
            if np.shape(got) == np.shape(value) and \
                    np.allclose(got, value, rtol=1e-6, atol=1e-9, equal_nan=True):
                return text + hint
        except (TypeError, ValueError):
            pass
    return text + otherwise


def _call(error, hint, func, *args):
    """func(*args) の値。error (例外の型、またはそのタプル) のエラーになったら、そのエラーとよくある原因 hint を表示する。"""
    try:
        return func(*args)
    except error as err:
        raise AssertionError(f"{type(err).__name__}: {err}\n{hint}") from err


# 最後の「テストの結果のまとめ」の表は、このノートブックと同じフォルダの check_summary.py (一緒に配布される
# ファイル) が作ります。テストセル (1 行目が「# テストセル: 名前」のセル) を実行するたびに、合格したかどうかと
# メッセージを覚えておきます。
try:
    from check_summary import Summary as _Summary, watch_cells as _watch_cells
    _watch_cells()
except ImportError:  # check_summary.py がない (Google Colab でアップロードしていないときなど)
    _NO_SUMMARY = ("check_summary.py が見つからないので、最後のまとめの表は表示されません (テストセルは使えます)。"
                   "表を見るには、配布された check_summary.py を、このノートブックと同じフォルダに置いてください"
                   " (Google Colab では左の「ファイル」にアップロード)。そのあとカーネル (Colab ではランタイム) を"
                   "再起動して、上から実行し直します。")
    print("注意:", _NO_SUMMARY)
    _Summary = lambda checks: print("注意:", _NO_SUMMARY)  # noqa: E731


# %% [markdown] nbgrader={"grade": false, "grade_id": "numerical_diff_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1. 数値微分 (numerical differentiation)
#
# 関数 $f(x)$ の微分は
#
# $$\frac{df(x)}{dx} = \lim_{h \to 0} \frac{f(x+h) - f(x)}{h}$$
#
# で、直観的には「グラフの接線の傾き」です。コンピュータでは $h$ を本当に 0 にはできないので、
# 小さな値 (**$h = 10^{-4}$ = `1e-4`** くらい) を使って近似します。
#
# このとき $x$ と $x+h$ の差をとる **前方差分 (forward difference)** $\frac{f(x+h) - f(x)}{h}$ よりも、$x$ の両側を
# 使う **中心差分 (central difference)**
#
# $$\frac{f(x+h) - f(x-h)}{2h}$$
#
# のほうが、真の接線の傾きとのずれ (誤差) が小さくなります (ずれは 0 にはなりません)。
#
# ### 問 1 (2 点)
#
# 1 変数の関数 `f` と数 `x` を受け取り、`h = 1e-4` の中心差分で $f$ の $x$ での微分を返す関数
# `numerical_diff(f, x)` を実装してください。

# %% tags=["raises-exception"] nbgrader={"grade": false, "grade_id": "numerical_diff", "locked": false, "schema_version": 3, "solution": true, "task": false}
def numerical_diff(f, x):
    """f の x での微分を中心差分 (h = 1e-4) で近似して返す。"""
    ### BEGIN SOLUTION
    h = 1e-4  # 0.0001
    return (f(x + h) - f(x - h)) / (2 * h)
    ### END SOLUTION


# %% tags=["raises-exception"] nbgrader={"grade": true, "grade_id": "test_numerical_diff", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# テストセル: test_numerical_diff
"""numerical_diff が中心差分 (h = 1e-4) で正しい微分の値を返すか確かめる。"""
def diff_mistakes(exact, forward, backward):
    """numerical_diff のよくある間違いの値 (h = 1e-4) とヒント。"""
    return [(forward, "前方差分 (f(x+h) - f(x)) / h の値です。誤差を小さくするため、中心差分を使ってください。"),
            (backward, "後方差分 (f(x) - f(x-h)) / h の値です。中心差分を使ってください。"),
            (0.0, "結果が 0 です。h が小さすぎると x + h が x と同じ数に丸められ (丸め誤差)、差が 0 になります。"),
            (exact * 1e-8, "正しい値の h^2 倍です。/ 2 * h は (… / 2) * h と計算されます。割る数の書き方を確認してください。"),
            (2 * exact, "ちょうど 2 倍です。x-h から x+h までの幅は 2h です。")]


d = numerical_diff(lambda x: x ** 2, 3.0)
assert abs(d - 6.0) < 1e-6, _explain(d, 6.0, "x**2 の x = 3 での微分", diff_mistakes(6.0, 6.0001, 5.9999),
                                     "中心差分 (f(x+h) - f(x-h)) / (2h), h = 1e-4 で計算してください。")
d = numerical_diff(lambda x: 0.01 * x ** 2 + 0.1 * x, 5.0)
assert abs(d - 0.2) < 1e-6, _explain(d, 0.2, "0.01x^2 + 0.1x の x = 5 での微分", diff_mistakes(0.2, 0.200001, 0.199999))
d = numerical_diff(lambda x: x ** 3, 1.0)
assert abs(d - 3.0) < 1e-6, _explain(d, 3.0, "x**3 の x = 1 での微分", diff_mistakes(3.0, 3.00030001, 2.99970001))
### BEGIN HIDDEN TESTS
from autograders import a2_gradient
a2_gradient.check_numerical_diff(numerical_diff)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "tangent_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# 数値微分で求めた傾きを使って、$f(x) = 0.01x^2 + 0.1x$ の $x = 5$ での接線を描いてみましょう
# (実行するだけのセルです)。

# %% tags=["raises-exception"] nbgrader={"grade": false, "grade_id": "tangent_demo", "locked": true, "schema_version": 3, "solution": false, "task": false}
def function_1(x):
    return 0.01 * x ** 2 + 0.1 * x


slope = numerical_diff(function_1, 5.0)
print("x = 5 での傾き:", slope)   # 解析的な微分は 0.02 * 5 + 0.1 = 0.2

xs = np.arange(0.0, 20.0, 0.1)
plt.plot(xs, function_1(xs), label="f(x)")
plt.plot(xs, slope * (xs - 5.0) + function_1(5.0), linestyle="--", label="tangent at x = 5")
plt.xlabel("x")
plt.ylabel("f(x)")
plt.legend()
plt.show()

# %% [markdown] nbgrader={"grade": false, "grade_id": "diff_error_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### h の大きさと誤差
#
# 真の微分が分かっている $f(x) = \sin x$ ($f'(x) = \cos x$) で、前方差分と中心差分の誤差を
# いろいろな $h$ で比べます (実行するだけのセルです)。
#
# - $h$ が大きいと、差分と接線の傾きのずれ (打ち切り誤差) が大きい。中心差分のほうがずっと小さい。
# - $h$ を小さくしすぎると、今度は **丸め誤差 (rounding error)** が効いてきます。コンピュータの
#   小数 (浮動小数点数) は約 16 桁しか持てないので、$x + h$ の $h$ の部分の桁が落ちてしまいます。
#   $h = 10^{-50}$ では $1 + 10^{-50}$ が $1$ と同じ数になり、差が 0、微分も 0 になります。

# %% tags=["raises-exception"] nbgrader={"grade": false, "grade_id": "diff_error_demo", "locked": true, "schema_version": 3, "solution": false, "task": false}
x = 1.0
exact = np.cos(x)                                           # sin の真の微分


def errors(hs):
    """いろいろな h (配列) での前方差分と中心差分の誤差。"""
    forward = (np.sin(x + hs) - np.sin(x)) / hs
    central = (np.sin(x + hs) - np.sin(x - hs)) / (2 * hs)
    return np.abs(forward - exact), np.abs(central - exact)


table_h = np.array([1e-1, 1e-2, 1e-3, 1e-4, 1e-6, 1e-8, 1e-10, 1e-12, 1e-50])
fwd_err, ctr_err = errors(table_h)
print("     h    前方差分の誤差  中心差分の誤差")
for h, e1, e2 in zip(table_h, fwd_err, ctr_err):
    print(f"{h:8.0e}   {e1:12.2e}   {e2:12.2e}")

print()
print("1.0 + 1e-50 == 1.0 :", 1.0 + 1e-50 == 1.0)         # 丸め誤差: h の桁が消える
print("np.float32(1e-50)  :", np.float32(1e-50))          # 32 ビットの小数では 0 (アンダーフロー)

hs = np.logspace(-16, -1, 61)
fwd_err, ctr_err = errors(hs)
plt.loglog(hs, np.maximum(fwd_err, 1e-17), label="forward difference")
plt.loglog(hs, np.maximum(ctr_err, 1e-17), label="central difference")
plt.axvline(1e-4, color="gray", linestyle=":", label="h = 1e-4")
plt.xlabel("h")
plt.ylabel("|error|")
plt.legend()
plt.show()

# %% [markdown] nbgrader={"grade": false, "grade_id": "partial_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# $h$ を小さくすると初めは誤差が減りますが、$h = 10^{-10}$ や $10^{-12}$ では丸め誤差で
# かえって大きくなり、$10^{-50}$ では微分が 0 になってしまいます。$h = 10^{-4}$ は、中心差分なら
# 誤差が十分小さく (約 $10^{-9}$)、丸め誤差もまだ効かない、安全な値です。
#
# ## 2. 偏微分 (partial derivative)
#
# 2 つの変数をもつ関数
#
# $$f(x_0, x_1) = x_0^2 + x_1^2$$
#
# を考えます。変数が複数あるときは、どの変数で微分するかを区別して $\frac{\partial f}{\partial x_0}$,
# $\frac{\partial f}{\partial x_1}$ のように書き、これを **偏微分** といいます。微分しないほうの
# 変数は **定数** として扱います。例えば $(x_0, x_1) = (3, 4)$ では
#
# $$\frac{\partial f}{\partial x_0} = 2x_0 = 6, \qquad \frac{\partial f}{\partial x_1} = 2x_1 = 8$$
#
# です。数値微分で求めるには、片方の変数を固定した 1 変数の関数を作り、`numerical_diff` に渡します。
#
# ### 問 2 (2 点)
#
# - `function_tmp1(x0)`: $x_1 = 4.0$ に固定した $f$ ($x_0$ だけの関数)
# - `function_tmp2(x1)`: $x_0 = 3.0$ に固定した $f$ ($x_1$ だけの関数)
#
# を実装してください (スライドの `func_tmpx`, `func_tmpy` と同じものです)。

# %% tags=["raises-exception"] nbgrader={"grade": false, "grade_id": "partial_derivatives", "locked": false, "schema_version": 3, "solution": true, "task": false}
def function_tmp1(x0):
    """x1 = 4.0 に固定した f(x0, x1) = x0^2 + x1^2。"""
    ### BEGIN SOLUTION
    return x0 * x0 + 4.0 ** 2.0
    ### END SOLUTION


def function_tmp2(x1):
    """x0 = 3.0 に固定した f(x0, x1) = x0^2 + x1^2。"""
    ### BEGIN SOLUTION
    return 3.0 ** 2.0 + x1 * x1
    ### END SOLUTION


# %% tags=["raises-exception"] nbgrader={"grade": false, "grade_id": "partial_derivatives_demo", "locked": true, "schema_version": 3, "solution": false, "task": false}
print(numerical_diff(function_tmp1, 3.0))   # スライドでは 6.00000000000378
print(numerical_diff(function_tmp2, 4.0))   # スライドでは 7.999999999999119

# %% tags=["raises-exception"] nbgrader={"grade": true, "grade_id": "test_partial_derivatives", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# テストセル: test_partial_derivatives
"""function_tmp1, function_tmp2 が片方の変数を固定した f(x0, x1) = x0^2 + x1^2 になっているか確かめる。"""
v = function_tmp1(3.0)
assert np.isclose(v, 25.0), _explain(v, 25.0, "function_tmp1(3.0) = 3^2 + 4^2", [
    (18.0, "3^2 + 3^2 になっています。function_tmp1 では x1 を 3.0 に固定していませんか？ x1 = 4.0 に固定します。")])
v = function_tmp1(0.0)
assert np.isclose(v, 16.0), _explain(v, 16.0, "function_tmp1(0.0) = 0^2 + 4^2", [
    (9.0, "0^2 + 3^2 になっています。function_tmp1 では x1 を 3.0 に固定していませんか？ x1 = 4.0 に固定します。")])
v = function_tmp2(4.0)
assert np.isclose(v, 25.0), _explain(v, 25.0, "function_tmp2(4.0) = 3^2 + 4^2", [
    (32.0, "4^2 + 4^2 になっています。function_tmp2 では x0 を 4.0 に固定していませんか？ x0 = 3.0 に固定します。")])
v = function_tmp2(0.0)
assert np.isclose(v, 9.0), _explain(v, 9.0, "function_tmp2(0.0) = 3^2 + 0^2", [
    (16.0, "4^2 + 0^2 になっています。function_tmp2 では x0 を 4.0 に固定していませんか？ x0 = 3.0 に固定します。")])
### BEGIN HIDDEN TESTS
from autograders import a2_gradient
a2_gradient.check_partial_derivatives(function_tmp1, function_tmp2)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "gradient_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# 結果は 6 と 8 から、ごくわずか (誤差の範囲) だけずれた値になりました。
#
# ## 3. 勾配 (gradient)
#
# すべての変数の偏微分をベクトルとしてまとめたもの
#
# $$\left( \frac{\partial f}{\partial x_0}, \frac{\partial f}{\partial x_1} \right) = (2x_0, 2x_1)$$
#
# を **勾配** といいます。数値微分で求めるには、変数を 1 つずつ順番に $\pm h$ だけずらし
# (ほかの変数はそのまま)、中心差分を計算します。変数を NumPy 配列 `x` にまとめて渡せば、
# 変数が何個でも同じ関数で計算できます。
#
# ニューラルネットでは、重みが行列 $W$ (例えば形 `(2, 3)`) なので、損失関数 $L$ の勾配
# $\frac{\partial L}{\partial W}$ も同じ形 `(2, 3)` の行列になり、その各要素が
# $\frac{\partial L}{\partial w_{ij}}$ です。スライドの実装例は `for idx in range(x.size)` で
# `x[idx]` をずらしていますが、`x` が行列だと `x[0]` は 1 つの要素ではなく 1 **行** 全体に
# なってしまい、正しく動きません。
#
# ### 問 3 (2 点 + 2 点 + 1 点)
#
# 関数 `f` (配列を 1 つ受け取り、数を 1 つ返す) と NumPy 配列 `x` を受け取り、`f` の `x` での
# 勾配を `h = 1e-4` の中心差分で求めて返す関数 `numerical_gradient(f, x)` を実装してください。
#
# - ベクトル (1 次元) でも重み行列 (2 次元) でも、**どんな形の `x` にも** 使えること。
#   結果は `x` と同じ形の float の配列にする
# - 計算が終わったとき、`x` の中身は呼び出す前と **まったく同じ** であること
#   (ずらした要素は元の値に戻す)
# - `x` が整数の配列 (例 `np.array([3, 4])`) のとき、黙って間違った値を返さないこと。
#   整数の配列に `3 + 1e-4` を代入すると `3` に切り捨てられてしまいます。float の配列に
#   変換してから計算するか、エラー (`TypeError` か `ValueError`) を出すようにします
#
# ヒント: `np.ndindex(x.shape)` は、どんな形の配列でもすべての要素の添字 (`(0, 0)`, `(0, 1)`, …)
# を順に返します。`np.nditer(x, flags=['multi_index'])` を使う方法もあります。

# %% tags=["raises-exception"] nbgrader={"grade": false, "grade_id": "numerical_gradient", "locked": false, "schema_version": 3, "solution": true, "task": false}
def numerical_gradient(f, x):
    """f の x での勾配 (x と同じ形の float 配列) を中心差分 (h = 1e-4) で求める。"""
    ### BEGIN SOLUTION
    h = 1e-4
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)         # 整数のままだと x + h が切り捨てられる
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):      # どんな形でも、すべての要素の添字
        orig = x[idx]
        x[idx] = orig + h
        f_plus = f(x)                    # f(x + h)
        x[idx] = orig - h
        f_minus = f(x)                   # f(x - h)
        grad[idx] = (f_plus - f_minus) / (2 * h)
        x[idx] = orig                    # 元の値に戻す
    return grad
    ### END SOLUTION


# %% tags=["raises-exception"] nbgrader={"grade": false, "grade_id": "function_2_given", "locked": true, "schema_version": 3, "solution": false, "task": false}
def function_2(x):
    """f(x0, x1) = x0^2 + x1^2 (x の要素の 2 乗の和)。"""
    return np.sum(x ** 2)


print(numerical_gradient(function_2, np.array([3.0, 4.0])))   # [6. 8.] に近い値
print(numerical_gradient(function_2, np.array([0.0, 2.0])))   # [0. 4.]
print(numerical_gradient(function_2, np.array([3.0, 0.0])))   # [6. 0.]

# %% tags=["raises-exception"] nbgrader={"grade": true, "grade_id": "test_numerical_gradient", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# テストセル: test_numerical_gradient
"""numerical_gradient がベクトルの x で正しい勾配 (float) を返し、x を元のままにするか確かめる。"""
FORWARD = "前方差分 (f(x+h) - f(x)) / h の値です (勾配が h = 1e-4 だけ大きい)。中心差分を使ってください。"
HALF = "f(x+h) と、ずらしていない f(x) の差を 2h で割った値です。中心差分では x[idx] を -h ずらした f(x-h) を使います。"
SIGN = "符号が逆です。f(x+h) - f(x-h) の順に引いていますか？"
RESTORE = "ずらした要素を元に戻していますか？ (戻さないと、次の要素の計算も呼び出し元の x も狂います)"
x = np.array([3.0, 4.0])
g = numerical_gradient(function_2, x)
assert np.shape(g) == (2,) and np.allclose(g, [6.0, 8.0]), _explain(
    g, [6.0, 8.0], "f = x0^2 + x1^2 の (3, 4) での勾配",
    [([6.0001, 8.0001], FORWARD), ([3.00005, 4.00005], HALF), ([-6.0, -8.0], SIGN)])
assert np.array(g).dtype.kind == "f", "勾配は float の配列で返してください"
assert np.allclose(x, [3.0, 4.0], rtol=0, atol=1e-12), \
    _explain(x, [3.0, 4.0], "numerical_gradient のあとの x (呼び出す前と同じはず)", otherwise=RESTORE)
g = numerical_gradient(function_2, np.array([0.0, 2.0]))
assert np.allclose(g, [0.0, 4.0]), _explain(g, [0.0, 4.0], "(0, 2) での勾配",
                                            [([0.0001, 4.0001], FORWARD), ([0.00005, 2.00005], HALF)])
g = numerical_gradient(function_2, np.array([1.0, -2.0, 0.5]))
assert np.allclose(g, [2.0, -4.0, 1.0]), _explain(g, [2.0, -4.0, 1.0], "変数が 3 つのとき: (1, -2, 0.5) での勾配",
                                                  [([2.0001, -3.9999, 1.0001], FORWARD),
                                                   ([1.00005, -1.99995, 0.50005], HALF)])
### BEGIN HIDDEN TESTS
from autograders import a2_gradient
a2_gradient.check_numerical_gradient(numerical_gradient)
### END HIDDEN TESTS

# %% tags=["raises-exception"] nbgrader={"grade": true, "grade_id": "test_numerical_gradient_matrix", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# テストセル: test_numerical_gradient_matrix
"""numerical_gradient が重み行列 (2 次元の配列) でも各要素の偏微分を返し、W を元のままにするか確かめる。"""
W = np.array([[0.5, -1.0, 2.0],
              [0.0, 1.5, -0.5]])
W_before = W.copy()
ROW = ("x が行列 (2 次元) のとき、整数 idx での x[idx] は 1 つの要素ではなく 1 行全体になります。"
       "スライドの for idx in range(x.size) の版では、float(x[idx]) (1 行を 1 つの数にする) が TypeError に、"
       "行の数を超えた x[idx] が IndexError に、1 行全体を 1 つの数として比べたり代入したりすると ValueError に"
       "なります。行列のすべての要素 x[i, j] を 1 つずつずらしてください (ヒント: np.ndindex(x.shape))。")
dW = _call((TypeError, IndexError, ValueError), ROW, numerical_gradient, function_2, W)
assert np.shape(dW) == (2, 3), _explain(np.shape(dW), (2, 3), "勾配の形 (W と同じ形)")
assert np.allclose(dW, 2 * W_before), _explain(dW, 2 * W_before, "np.sum(W**2) の勾配 2W", [
    (2 * W_before + 1e-4, "前方差分 (f(x+h) - f(x)) / h の値です (勾配が h = 1e-4 だけ大きい)。中心差分を使ってください。"),
    (W_before + 0.5e-4, "f(x+h) と、ずらしていない f(x) の差を 2h で割った値です。"
                        "中心差分では x[idx] を -h ずらした f(x-h) を使います。")],
    "行列のすべての要素をずらしていますか？")
assert np.allclose(W, W_before, rtol=0, atol=1e-12), _explain(
    W, W_before, "numerical_gradient のあとの W (呼び出す前と同じはず)",
    otherwise="ずらした要素を元に戻していますか？ (戻さないと、次の要素の計算も呼び出し元の W も狂います)")
### BEGIN HIDDEN TESTS
from autograders import a2_gradient
a2_gradient.check_numerical_gradient_matrix(numerical_gradient)
### END HIDDEN TESTS

# %% tags=["raises-exception"] nbgrader={"grade": true, "grade_id": "test_numerical_gradient_int", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# テストセル: test_numerical_gradient_int
"""numerical_gradient が整数の配列を黙って切り捨てず、正しい勾配を返すかエラーにするか確かめる。"""
x_int = np.array([3, 4])
try:
    g = numerical_gradient(function_2, x_int)
except (TypeError, ValueError):
    g = None   # はっきりエラーにするのも正解
if g is not None:
    assert np.allclose(g, [6.0, 8.0]), _explain(g, [6.0, 8.0], "整数の配列 [3, 4] での勾配", [
        ([0, 0], "整数の配列では x[idx] に 3 + 1e-4 を代入すると 3 に切り捨てられ、差が 0 になります。"
                 "float の配列に変換してから計算するか、エラーにしてください。"),
        ([25000, 35000], "整数の配列では x[idx] に 3 + 1e-4 や 3 - 1e-4 を代入すると 3 や 2 に切り捨てられます。"
                         "float の配列に変換してから計算するか、エラーにしてください。"),
        ([6.0001, 8.0001], "前方差分 (f(x+h) - f(x)) / h の値です (勾配が h = 1e-4 だけ大きい)。"
                           "中心差分を使ってください。"),
        ([3.00005, 4.00005], "f(x+h) と、ずらしていない f(x) の差を 2h で割った値です。"
                             "中心差分では x[idx] を -h ずらした f(x-h) を使います。")],
        "x + h が整数に切り捨てられていませんか？")
assert np.array_equal(x_int, [3, 4]), _explain(x_int, [3, 4], "numerical_gradient のあとの x (呼び出す前と同じはず)")
### BEGIN HIDDEN TESTS
from autograders import a2_gradient
a2_gradient.check_numerical_gradient_int(numerical_gradient)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "gradient_field_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 4. 勾配のグラフ
#
# $f(x_0, x_1) = x_0^2 + x_1^2$ の勾配を、平面上のたくさんの点で計算して矢印で描きます。
# 勾配 $\nabla f$ は関数の値が最も **増える** 方向を向くので、マイナスを付けた $-\nabla f$ が
# 最も **減る** 方向です。学習 (勾配法) では、この $-\nabla f$ の方向へパラメータを動かします。
#
# ### 問 4 (1 点)
#
# `points` (形 `(324, 2)`: 各行が 1 つの点 $(x_0, x_1)$) のすべての点について、
# `numerical_gradient` で `function_2` の勾配を求め、それにマイナスを付けたものを
# `arrows` の同じ行に入れてください。次のセルがそれを矢印で描きます。

# %% tags=["raises-exception"] nbgrader={"grade": false, "grade_id": "gradient_field", "locked": false, "schema_version": 3, "solution": true, "task": false}
x0 = np.arange(-2, 2.5, 0.25)
x1 = np.arange(-2, 2.5, 0.25)
X0, X1 = np.meshgrid(x0, x1)
points = np.stack([X0.flatten(), X1.flatten()], axis=1)   # 形 (324, 2)
arrows = np.zeros_like(points)                            # arrows[i] に点 points[i] での -∇f を入れる

### BEGIN SOLUTION
for i in range(len(points)):
    arrows[i] = -numerical_gradient(function_2, points[i])
### END SOLUTION

# %% tags=["raises-exception"] nbgrader={"grade": false, "grade_id": "gradient_field_plot", "locked": true, "schema_version": 3, "solution": false, "task": false}
plt.figure(figsize=(5, 5))
plt.quiver(points[:, 0], points[:, 1], arrows[:, 0], arrows[:, 1], angles="xy", color="#666666")
plt.xlim(-2, 2)
plt.ylim(-2, 2)
plt.xlabel("x0")
plt.ylabel("x1")
plt.grid()
plt.show()

# %% tags=["raises-exception"] nbgrader={"grade": true, "grade_id": "test_gradient_field", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# テストセル: test_gradient_field
"""arrows が各点での -∇f (f の値が低くなる方向、中央の最小点を向く) になっているか確かめる。"""
assert np.shape(arrows) == np.shape(points), _explain(np.shape(arrows), np.shape(points), "arrows の形 (points と同じ)")
i = 2 * 18 + 12                                 # 点 (1, -1.5) の行 (18 × 18 の格子の 2 行 12 列目)
assert np.allclose(points[i], [1.0, -1.5], rtol=0, atol=1e-12), _explain(
    points[i], [1.0, -1.5], "points[48] (点 (1, -1.5))",
    otherwise="points が書き換えられています。numerical_gradient はずらした要素を元に戻していますか？")
assert np.allclose(arrows[i], [-2.0, 3.0]), _explain(arrows[i], [-2.0, 3.0], "点 (1, -1.5) での -∇f", [
    ([2.0, -3.0], "矢印は勾配そのもの ∇f ではなく、マイナスを付けた -∇f (f が低くなる方向) です。"),
    ([-2.0001, 2.9999], "勾配が前方差分 (f(x+h) - f(x)) / h の値です。numerical_gradient のテストを先に直してください。"),
    ([-1.00005, 1.49995], "勾配が中心差分の値になっていません (f(x-h) ではなく、ずらしていない f(x) を使っている値)。"
                          "numerical_gradient のテストを先に直してください。")],
    "arrows[i] は点 points[i] での -∇f (勾配にマイナスを付けたもの) です。")
assert np.all(np.sum(arrows * points, axis=1) <= 1e-6), "矢印はすべて中央 (0, 0) の方を向くはずです"
### BEGIN HIDDEN TESTS
from autograders import a2_gradient
a2_gradient.check_gradient_field(points, arrows)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "a2_summary", "locked": true, "schema_version": 3, "solution": false, "task": false}
# 矢印はどれも中央 $(0, 0)$ を向いています。$f(x_0, x_1) = x_0^2 + x_1^2$ はそこで最も低くなる
# (最小値 0) からです。また、中央から遠いほど矢印は長く、傾きが急であることを表しています。
#
# ## まとめ
#
# - 数値微分は、小さな $h$ (`1e-4` くらい) で差をとって微分を近似する。前方差分より中心差分
#   $\frac{f(x+h) - f(x-h)}{2h}$ のほうが誤差が小さい。$h$ を小さくしすぎると丸め誤差で
#   かえって不正確になる ($h = 10^{-50}$ では 0)。
# - 偏微分は、ほかの変数を定数として固定して 1 つの変数で微分したもの。
# - 勾配は、すべての変数の偏微分をまとめたベクトル (重みが行列なら同じ形の行列)。
#   `numerical_gradient` は要素を 1 つずつずらして計算し、最後に元の値に戻す。
# - $-\nabla f$ は関数の値が最も減る方向を向く。
#
# 次の課題では、この勾配の方向へ少しずつ進む **勾配法 (gradient method)** で、関数の最小値や
# ニューラルネットの重みを求めます。

# %% [markdown] nbgrader={"grade": false, "grade_id": "a2_try_more", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## もっと試す (自由課題・採点されません)
#
# 新しいセルを作って試してみましょう (提出の前に消す必要はありません)。
#
# - `numerical_gradient` の `h` を `1e-2` や `1e-8` に変えた版を作り、`function_2` の (3, 4) での勾配の誤差を比べる。
# - $f(x_0, x_1) = x_0^2 + 4x_1^2$ の勾配のグラフを描く。矢印はまだ最小点 $(0, 0)$ を向いているでしょうか
#   (向きと長さに注目)。
# - 前方差分で勾配を求める版を書き、中心差分の版との差を、いろいろな点で比べる。

# %% [markdown] nbgrader={"grade": false, "grade_id": "a2_before_submit", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 提出の前に
#
# 1. メニューの「Kernel → Restart Kernel and Run All Cells」(カーネルを再起動してすべてのセルを実行) で、
#    上から順にすべてのセルを実行します。テストセルでエラーが出ても、実行は最後のセルまで続きます
#    (テストセルには、エラーが出ても止まらない印 `raises-exception` のタグが付いています)。
# 2. 下のセルの「見えているテストの結果」の表で、✗ (不合格) や − (未実行) のテストがないか確かめます。
#    ✗ のテストは、表のメッセージ (ヒント) を読んでコードを直し、1. からやり直します。
# 3. 記述問題 (「ここに解答を書いてください」のセル) に答えたかを確かめます。
# 4. ノートブック (.ipynb ファイル) を保存して提出します (Google Colab では「ファイル → ダウンロード →
#    .ipynb をダウンロード」)。
#
# **Google Colab では**: 「ランタイム → すべてのセルを実行」は、エラーが出たセルで止まります (Colab は
# `raises-exception` のタグを使いません)。止まったら、そのセルのエラーを直すか、その次のセルを選んで
# 「ランタイム → 以降のセルを実行 (Run after)」で続けてください。下のまとめのセルは、それまでに実行した
# テストセルの結果を表にします。
#
# ✓ は見えているテストに合格したという意味です。点数は提出後の採点で、見えていないテスト
# (**隠しテスト**: 別の入力での確認) も含めて決まります。
# %% nbgrader={"grade": false, "grade_id": "a2_check_summary", "locked": true, "schema_version": 3, "solution": false, "task": false}
# テストの結果のまとめ (このセルは採点されません。上のテストセルの結果を表にします)
_Summary([("問 1", "test_numerical_diff", 2),
          ("問 2", "test_partial_derivatives", 2),
          ("問 3 (ベクトル)", "test_numerical_gradient", 2),
          ("問 3 (行列)", "test_numerical_gradient_matrix", 2),
          ("問 3 (整数の配列)", "test_numerical_gradient_int", 1),
          ("問 4", "test_gradient_field", 1)])
