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

# %% [markdown] nbgrader={"grade": false, "grade_id": "a1_intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # 課題 1: 損失関数 (loss function)
#
# ニューラルネットの学習では、「いまのネットワークの出力が正解からどれくらい離れているか」を
# 1 つの数値で表し、その値が小さくなるように重みパラメータを探します。この数値を与える関数が
# **損失関数 (loss function)** です。
#
# この課題で学ぶこと:
#
# 1. **2乗和誤差 (sum of squared error)** `sum_squared_error` を実装する
# 2. **交差エントロピー誤差 (cross entropy error)** `cross_entropy_error` を実装し、微小な値
#    `delta` が必要な理由を確かめる
# 3. **ミニバッチ (mini-batch)** に対応した交差エントロピー誤差 (データ数で平均する) を実装する。
#    その途中で、スライドのバッチ対応コードのバグを見つけて直す
# 4. なぜ **認識精度 (accuracy)** ではなく損失関数を指標にして学習するのかを考える
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

# %% [markdown] nbgrader={"grade": false, "grade_id": "train_test_data_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 0. 訓練データとテストデータ
#
# 機械学習では、手元のデータを 2 つに分けて使います。
#
# - **訓練データ (training data)**: 学習に使うデータ。このデータで損失関数が小さくなるように、重みパラメータを探します。
# - **テストデータ (test data)**: 学習には使わず、学習が終わったネットワークの性能を評価するためだけに使うデータ。
#
# 分けるのは、私たちが欲しいのが **汎化能力 (generalization ability)**、つまり訓練データに含まれない
# **未知のデータ** も正しく認識できる力だからです。例えば手書き数字の認識なら、学習に使った画像ではなく、
# これから誰かが書く新しい数字を読めることが大切です。訓練データだけで評価すると、その訓練データに
# 過度に適合して、ほかのデータを正しく認識できない状態を見逃します。この状態を **過学習 (overfitting)** といい、
# 避けなければなりません (課題 4 で、MNIST の訓練データを減らして過学習を実際に起こしてみます)。
#
# この課題では、学習の指標となる **損失関数** を作ります。

# %% nbgrader={"grade": false, "grade_id": "a1_imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np
import matplotlib.pyplot as plt

# %% nbgrader={"grade": false, "grade_id": "a1_test_helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
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


# %% [markdown] nbgrader={"grade": false, "grade_id": "sum_squared_error_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1. 2乗和誤差 (sum of squared error)
#
# ニューラルネットの出力を $y_k$、教師データ (正解) を $t_k$ とすると、2乗和誤差は
#
# $$E = \frac{1}{2} \sum_k (y_k - t_k)^2$$
#
# です。教師データは、正解のクラスだけが 1 で残りが 0 の配列で表します。このような表し方を
# **ワンホット表現 (one-hot representation)** といいます。例えば 5 クラスで正解が 2 番目
# (0 から数えて) なら `t = np.array([0, 0, 1, 0, 0])` です。
#
# ### 問 1 (2 点)
#
# `y` と `t` (同じ形の NumPy 配列) を受け取り、2乗和誤差を返す関数 `sum_squared_error(y, t)` を
# 実装してください。`for` 文を使っても、NumPy でまとめて計算してもかまいません。

# %% tags=["raises-exception"] nbgrader={"grade": false, "grade_id": "sum_squared_error", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sum_squared_error(y, t):
    """2乗和誤差 E = 1/2 * Σ_k (y_k - t_k)^2 を返す。"""
    ### BEGIN SOLUTION
    return 0.5 * np.sum((y - t) ** 2)
    ### END SOLUTION


# %% [markdown] nbgrader={"grade": false, "grade_id": "sum_squared_error_example", "locked": true, "schema_version": 3, "solution": false, "task": false}
# スライドの例で試してみましょう。正解は 2 番目のクラスです。`y1` は正解のクラスの出力が 0.6 と
# 大きく、`y2` は 0.1 と小さい出力です。

# %% tags=["raises-exception"] nbgrader={"grade": false, "grade_id": "sum_squared_error_demo", "locked": true, "schema_version": 3, "solution": false, "task": false}
t = np.array([0, 0, 1, 0, 0])
y1 = np.array([0.1, 0.05, 0.6, 0.0, 0.1])
y2 = np.array([0.1, 0.05, 0.1, 0.0, 0.1])
print(sum_squared_error(y1, t))   # スライドでは 0.09125000000000003
print(sum_squared_error(y2, t))   # スライドでは 0.41625

# %% tags=["raises-exception"] nbgrader={"grade": true, "grade_id": "test_sum_squared_error", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# テストセル: test_sum_squared_error
"""sum_squared_error がスライドの値 (0.09125, 0.41625) などを返すか確かめる。"""
sse_mistakes = [(2 * 0.09125, "ちょうど 2 倍です。1/2 (0.5) を掛け忘れていませんか？"),
                (0.09125 / 5, "ちょうど 1/5 (1/要素数) です。平均 (np.mean) ではなく和 (np.sum) をとってください。"),
                (2 * 0.09125 / 5, "2/5 倍です。平均 (np.mean) ではなく和 (np.sum) をとってください。")]
e1, e2 = sum_squared_error(y1, t), sum_squared_error(y2, t)
assert np.isclose(e1, 0.09125), _explain(e1, 0.09125, "y1 の2乗和誤差", sse_mistakes,
                                         "E = 1/2 Σ_k (y_k - t_k)^2 : 差を 2 乗して全部足し、1/2 を掛けます。")
assert np.isclose(e2, 0.41625), _explain(e2, 0.41625, "y2 の2乗和誤差")
assert e1 < e2, "正解に近い y1 のほうが誤差は小さいはずです"
assert np.isclose(sum_squared_error(t, t), 0.0), "y と t が等しければ誤差は 0 です"
### BEGIN HIDDEN TESTS
from autograders import a1_loss
a1_loss.check_sum_squared_error(sum_squared_error)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "cross_entropy_error_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# 誤差は `y1` のほうが小さくなりました。出力 `y1` のほうが正解に近い、ということです。
#
# ## 2. 交差エントロピー誤差 (cross entropy error)
#
# $$E = -\sum_k t_k \log y_k$$
#
# $\log$ は底が $e$ の自然対数 (`np.log`) です。$t_k$ はワンホット表現なので、実際には
# 正解のクラスの出力 $y_k$ だけが効きます。その出力が 1 に近いほど $E$ は 0 に近く、
# 0 に近いほど $E$ は大きくなります。
#
# ただし、$y_k = 0$ のとき $\log 0 = -\infty$ となり、計算できません。そこで、微小な値
# `delta = 1e-7` ($10^{-7} = 0.0000001$) を **log の中で** 足して $\log(y_k + \delta)$ とします。
#
# ### 問 2 (2 点)
#
# データ 1 つ分の出力 `y` とワンホット表現の教師データ `t` (どちらも 1 次元の配列) を受け取り、
# 交差エントロピー誤差を返す関数 `cross_entropy_error(y, t)` を実装してください。
# `delta = 1e-7` を使います。

# %% tags=["raises-exception"] nbgrader={"grade": false, "grade_id": "cross_entropy_error", "locked": false, "schema_version": 3, "solution": true, "task": false}
def cross_entropy_error(y, t):
    """交差エントロピー誤差 E = -Σ_k t_k log(y_k + delta) を返す (データ 1 つ分)。"""
    ### BEGIN SOLUTION
    delta = 1e-7
    return -np.sum(t * np.log(y + delta))
    ### END SOLUTION


# %% tags=["raises-exception"] nbgrader={"grade": false, "grade_id": "cross_entropy_error_demo", "locked": true, "schema_version": 3, "solution": false, "task": false}
print(cross_entropy_error(y1, t))   # 約 0.51
print(cross_entropy_error(y2, t))   # 約 2.30
y_zero = np.array([0.1, 0.05, 0.0, 0.0, 0.85])   # 正解のクラスの出力が 0
print(cross_entropy_error(y_zero, t))   # delta のおかげで有限の値 (約 16.12) になる

# %% tags=["raises-exception"] nbgrader={"grade": true, "grade_id": "test_cross_entropy_error", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# テストセル: test_cross_entropy_error
"""cross_entropy_error (データ 1 つ) が正しい値を返し、y に 0 があっても有限になるか確かめる。"""
ce_nan = "NaN (非数) です。y に 0 があると log(0) = -inf になり、0 × (-inf) は NaN になります。" \
    "delta = 1e-7 を log の中で足してください (log の外で足しても log(0) は防げません)。"
e1 = cross_entropy_error(y1, t)
assert np.isclose(e1, 0.510825457099338), _explain(e1, 0.510825457099338, "y1 の交差エントロピー誤差", [
    (-0.510825457099338, "符号が逆です。E = -Σ_k t_k log y_k の先頭のマイナスを忘れていませんか？"),
    (0.510825457099338 / np.log(10), "ちょうど 1/ln(10) 倍です。log は底が e の自然対数です。np.log10 ではなく np.log を使ってください。"),
    (0.510825457099338 / np.log(2), "ちょうど 1/ln(2) 倍です。log は底が e の自然対数です。np.log2 ではなく np.log を使ってください。"),
    (0.510825457099338 / 5, "ちょうど 1/5 (1/要素数) です。平均 (np.mean) ではなく和 (np.sum) をとってください。"),
    (np.nan, ce_nan)], "E = -Σ_k t_k log(y_k + delta), delta = 1e-7 です。")
e2 = cross_entropy_error(y2, t)
assert np.isclose(e2, 2.302584092994546), _explain(e2, 2.302584092994546, "y2 の交差エントロピー誤差")
e0 = cross_entropy_error(y_zero, t)
assert np.isclose(e0, 16.11809565095832), _explain(e0, 16.11809565095832, "正解クラスの y が 0 のとき", [
    (np.inf, "inf (無限大) です。log(0) = -inf を避けるため、delta = 1e-7 を log の中で足してください。")],
    "正解クラスの y が 0 なら -log(0 + 1e-7) ≈ 16.118 です。delta は log の中で足していますか？")
### BEGIN HIDDEN TESTS
from autograders import a1_loss
a1_loss.check_cross_entropy_error(cross_entropy_error)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "delta_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# `delta` がないとどうなるか、確かめておきましょう (NumPy の警告は表示しないようにしています)。
# 正解のクラスの出力が 0 だと $-\log 0 = \infty$ (`inf`) になり、正解でないクラスの出力が 0 だと
# $0 \times \log 0 = 0 \times (-\infty)$ が「非数」`nan` になります。どちらも学習には使えません。

# %% tags=["raises-exception"] nbgrader={"grade": false, "grade_id": "delta_demo", "locked": true, "schema_version": 3, "solution": false, "task": false}
y_miss = np.array([0.1, 0.05, 0.0, 0.05, 0.8])   # 正解のクラス (2 番目) の出力だけが 0
with np.errstate(divide="ignore", invalid="ignore"):
    print("delta なし, y_miss:", -np.sum(t * np.log(y_miss)))   # inf
    print("delta なし, y1    :", -np.sum(t * np.log(y1)))       # nan (y1[3] が 0 だから)
print("delta あり, y_miss:", -np.sum(t * np.log(y_miss + 1e-7)))
print("delta あり, y1    :", -np.sum(t * np.log(y1 + 1e-7)))

# %% [markdown] nbgrader={"grade": false, "grade_id": "batch_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3. ミニバッチ (mini-batch) に対応した交差エントロピー誤差
#
# 訓練データ全体の損失関数は、データ 1 つずつの損失の和を **データ数 $N$ で割った平均** です。
#
# $$E = -\frac{1}{N} \sum_n \sum_k t_{nk} \log y_{nk}$$
#
# MNIST の訓練データは 60000 個もあるので、毎回全部を計算するのは大変です。そこで一部
# (例えば 100 個) をランダムに選んだ **ミニバッチ** で全体を近似します。平均をとっておけば、
# バッチの大きさが変わっても損失の値を比べられます。
#
# 出力 `y` はデータ $N$ 個分を並べた形 `(N, クラス数)` の 2 次元配列、教師データ `t` も
# 同じ形のワンホット表現です。データが 1 つだけのときは `y` も `t` も 1 次元の配列で来ます。
#
# スライドのバッチ対応コードは次のとおりです (下のセルは、そのまま写して実行してみるだけのセルです)。

# %% tags=["raises-exception"] nbgrader={"grade": false, "grade_id": "slides_batch_code", "locked": true, "schema_version": 3, "solution": false, "task": false}
# スライドのコード (そのまま写したもの。バグがあります)
def cross_enthropy_error(y, t):
    if y.ndim == 1:
        t = t.reshape(1, t.size)
        y = y.reshape(1, y.size)

    batch_size = y.shape(0)
    return -np.sum(t * np.log(y + 1e-7))


y_batch = np.array([y1, y2])   # 2 つのデータを並べたバッチ: 形 (2, 5)
t_batch = np.array([t, t])
try:
    print(cross_enthropy_error(y_batch, t_batch))
except Exception as e:
    print("エラーが起きました:", type(e).__name__, "-", e)

# %% [markdown] nbgrader={"grade": false, "grade_id": "find_the_bugs_question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 問 3 (2 点、記述問題: 教員が採点): バグを探す
#
# 上のスライドのコードには、正しく動かない (または式と合わない) ところがあります。
# 問題点をすべて挙げ、それぞれ「何が起こるか」と「どう直すか」を説明してください。
# 関数の名前についても気づいたことがあれば書いてください。

# %% [markdown] nbgrader={"grade": true, "grade_id": "find_the_bugs", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# 1. `y.shape(0)`: `y.shape` は形を表すタプル (例 `(2, 5)`) で関数ではないので、`()` で呼ぶと
#    `TypeError: 'tuple' object is not callable` になる。タプルの要素は角括弧で取り出すので
#    `y.shape[0]` と書く。
# 2. `batch_size` を求めているのに使っていない: 和をデータ数で割っていないので、式の
#    $\frac{1}{N}$ がなく、平均ではなく合計になる。バッチが大きいほど損失が大きくなり、
#    バッチの大きさが違うと比べられない。`return` の式を `batch_size` で割る。
# 3. 関数名 `cross_enthropy_error` はつづりの誤り (entropy が正しい)。Python としては
#    定義と呼び出しで同じ名前を使えば動くが、`cross_entropy_error` で呼ぶと `NameError` になる。

# %% [markdown] nbgrader={"grade": false, "grade_id": "batch_question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 問 4 (2 点)
#
# バグを直して、バッチ対応の `cross_entropy_error(y, t)` を実装してください (問 2 と同じ名前で
# 定義し直します。ここから先はこちらを使います)。
#
# - `y` が 1 次元 (データ 1 つ) のときは、形 `(1, クラス数)` のバッチに直してから計算する
# - 和をデータ数 `batch_size` で割って平均を返す
# - `delta = 1e-7` を log の中で足す
#
# ### 問 5 (1 点)
#
# MNIST を `load_mnist(one_hot_label=False)` で読み込むと、教師データは正解のクラスの番号
# (**正解ラベル**、例: `t = np.array([2, 0, 7])`) で与えられます。`t` がワンホット表現でも
# 正解ラベルでも動くようにしてください。
#
# ヒント: `t.size == y.size` ならワンホット表現です。正解ラベルのときは、
# `y[np.arange(batch_size), t]` で各データの正解クラスの出力だけを取り出せます
# (`np.arange(batch_size)` は `[0, 1, ..., batch_size-1]`)。問 5 を飛ばして問 4 だけ
# 解いてもかまいません。

# %% tags=["raises-exception"] nbgrader={"grade": false, "grade_id": "cross_entropy_error_batch", "locked": false, "schema_version": 3, "solution": true, "task": false}
def cross_entropy_error(y, t):
    """ミニバッチの交差エントロピー誤差 (データ数で平均) を返す。

    y: 形 (クラス数,) のデータ 1 つ、または形 (N, クラス数) のバッチ
    t: y と同じ形のワンホット表現、または正解ラベル (データ 1 つならスカラー、バッチなら形 (N,))
    """
    ### BEGIN SOLUTION
    delta = 1e-7
    y = np.asarray(y)
    t = np.asarray(t)
    if y.ndim == 1:                      # データ 1 つ -> 大きさ 1 のバッチ
        y, t = y.reshape(1, -1), t.reshape(1, -1)
    n = y.shape[0]                       # batch_size
    if t.size == y.size:                 # ワンホット表現
        return -np.sum(t * np.log(y + delta)) / n
    labels = t.reshape(n).astype(int)    # 正解ラベル
    return -np.sum(np.log(y[np.arange(n), labels] + delta)) / n
    ### END SOLUTION


# %% tags=["raises-exception"] nbgrader={"grade": false, "grade_id": "cross_entropy_error_batch_demo", "locked": true, "schema_version": 3, "solution": false, "task": false}
print(cross_entropy_error(y_batch, t_batch))              # (0.5108 + 2.3026) / 2 ≈ 1.4067
print(cross_entropy_error(y1, t))                         # データ 1 つ: ≈ 0.5108

# %% tags=["raises-exception"] nbgrader={"grade": true, "grade_id": "test_cross_entropy_error_batch", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# テストセル: test_cross_entropy_error_batch
"""バッチ対応の cross_entropy_error が、ワンホット表現のバッチとデータ 1 つで平均の損失を返すか確かめる。"""
batch_mistakes = [
    (2 * 1.406704775046942, "ちょうどデータ数 (2) 倍です。データ数 N (batch_size) で割って平均するのを忘れていませんか？"
                            " 和のままだとバッチが大きいほど損失が大きくなります。"),
    (1.406704775046942 / 5, "np.mean は全要素 (N × クラス数) で割ってしまいます。割るのはデータ数 N だけです。"),
    (1.406704775046942 / np.log(10), "ちょうど 1/ln(10) 倍です。log は底が e の自然対数です。np.log10 ではなく np.log を使ってください。"),
    (np.nan, "NaN (非数) です。y に 0 があると log(0) = -inf、0 × (-inf) = NaN になります。"
             "delta = 1e-7 を log の中で足してください (log の外で足しても log(0) は防げません)。")]
e = cross_entropy_error(y_batch, t_batch)
assert np.isclose(e, 1.406704775046942), _explain(e, 1.406704775046942, "y1, y2 のバッチの損失 (2 つの損失の平均)",
                                                  batch_mistakes)
e1 = cross_entropy_error(y1, t)
assert np.isclose(e1, 0.510825457099338), _explain(e1, 0.510825457099338, "データ 1 つ (1 次元の配列) の損失", [
    (0.510825457099338 / 5, "ちょうど 1/5 (1/クラス数) です。データが 1 つ (1 次元の y) のときは、"
                            "先に形 (1, クラス数) のバッチに直してから batch_size を求めてください。"),
    (0.510825457099338 / np.log(10), batch_mistakes[2][1]), (np.nan, batch_mistakes[3][1])],
    "問 2 と同じ値になるはずです。")
e3 = cross_entropy_error(np.array([y1, y1, y1]), np.array([t, t, t]))
assert np.isclose(e3, 0.510825457099338), _explain(e3, 0.510825457099338, "同じデータ 3 つのバッチの損失 (1 つのときと同じ)", [
    (3 * 0.510825457099338, "ちょうどデータ数 (3) 倍です。データ数 N (batch_size) で割って平均するのを忘れていませんか？")])
### BEGIN HIDDEN TESTS
from autograders import a1_loss
a1_loss.check_cross_entropy_error_batch(cross_entropy_error)
### END HIDDEN TESTS

# %% tags=["raises-exception"] nbgrader={"grade": true, "grade_id": "test_cross_entropy_error_labels", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# テストセル: test_cross_entropy_error_labels
"""cross_entropy_error が正解ラベル (クラスの番号) の教師データでも同じ損失を返すか確かめる。"""
labels_hint = "t が正解ラベル (例 [0, 2]) のときは、ワンホット表現のように t を掛けることはできません。" \
    "各データの正解クラスの出力だけを取り出してください (問 5 のヒント)。"
e = _call(ValueError, labels_hint, cross_entropy_error, y_batch, np.array([0, 2]))
expected = (-np.log(0.1 + 1e-7) - np.log(0.1 + 1e-7)) / 2          # -(log y[0, 0] + log y[1, 2]) / 2
assert np.isclose(e, expected), _explain(e, expected, "正解ラベル t = [0, 2] の損失 -(log y[0, 0] + log y[1, 2]) / 2", [
    (2 * expected, "ちょうどデータ数 (2) 倍です。データ数 N (batch_size) で割って平均するのを忘れていませんか？"),
    (expected / np.log(10), "ちょうど 1/ln(10) 倍です。log は底が e の自然対数です。np.log10 ではなく np.log を使ってください。"),
    (-np.sum(np.log(y_batch[:, [0, 2]] + 1e-7)) / 2,
     "y[:, t] のように書くと、各行から t のすべての列を取り出してしまいます。"
     "データ n ごとに、正解クラス t[n] の出力 1 つだけを取り出してください。")], labels_hint)
e = _call(ValueError, labels_hint, cross_entropy_error, y_batch, np.array([2, 2]))
assert np.isclose(e, 1.406704775046942), \
    _explain(e, 1.406704775046942, "正解ラベル t = [2, 2] の損失 (ワンホット表現のときと同じ値)", otherwise=labels_hint)
### BEGIN HIDDEN TESTS
from autograders import a1_loss
a1_loss.check_cross_entropy_error_labels(cross_entropy_error)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "why_loss_text", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 4. なぜ損失関数を使うのか
#
# 私たちが本当に高くしたいのは **認識精度 (accuracy)** (正しく分類できたデータの割合) です。
# それなのに、なぜわざわざ損失関数を小さくする、という遠回りをするのでしょうか。
#
# 次のセルで、簡単な 2 クラス分類の例を見てみます。パラメータは「しきい値」`c` の 1 つだけで、
# 入力 $x$ がクラス 1 である確率を $\mathrm{sigmoid}(5(x - c))$ とします。`c` を少しずつ
# 動かしながら、認識精度と交差エントロピー誤差 (損失関数) がどう変わるかをグラフにします
# (読んで実行するだけのセルです)。

# %% tags=["raises-exception"] nbgrader={"grade": false, "grade_id": "accuracy_vs_loss_demo", "locked": true, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(0)
x_data = rng.uniform(-2, 2, 30)                              # 入力 30 個
t_data = (x_data + rng.normal(0, 0.5, 30) > 0).astype(int)   # 正解ラベル (0 か 1)
T_data = np.eye(2)[t_data]                                   # ワンホット表現, 形 (30, 2)


def predict(c):
    """しきい値 c のときの出力 (30, 2): 各行が [クラス 0 の確率, クラス 1 の確率]。"""
    p = 1 / (1 + np.exp(-5 * (x_data - c)))
    return np.stack([1 - p, p], axis=1)


def accuracy(c):
    """しきい値 c のときの認識精度 (正しく分類できたデータの割合)。"""
    return np.mean(np.argmax(predict(c), axis=1) == t_data)


def loss(c):
    """しきい値 c のときの交差エントロピー誤差 (データ数で平均)。"""
    return -np.sum(T_data * np.log(predict(c) + 1e-7)) / len(t_data)


cs = np.linspace(-2, 2, 801)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
ax1.plot(cs, [accuracy(c) for c in cs])
ax1.set_xlabel("threshold c")
ax1.set_ylabel("accuracy")
ax2.plot(cs, [loss(c) for c in cs], color="tab:red")
ax2.set_xlabel("threshold c")
ax2.set_ylabel("cross entropy error")
plt.tight_layout()
plt.show()

c0, h = 0.5, 1e-3   # c を c0 から少しだけ動かすと…
print("認識精度の変化:", accuracy(c0 + h) - accuracy(c0))
print("損失関数の変化:", loss(c0 + h) - loss(c0))

# %% [markdown] nbgrader={"grade": false, "grade_id": "why_loss_question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### 問 6 (2 点、記述問題: 教員が採点)
#
# ニューラルネットの学習で、認識精度そのものではなく損失関数を指標にするのはなぜですか。
# 上のグラフと「パラメータの **微分 (勾配)** を手掛かりにパラメータを更新する」という学習の
# 手順をもとに説明してください。

# %% [markdown] nbgrader={"grade": true, "grade_id": "why_loss", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# 学習では、パラメータの微分 (勾配) を計算し、指標が良くなる方向へパラメータを少しずつ
# 更新する。認識精度は「正しく分類できたデータの数 ÷ データ数」なので、パラメータを少し
# 動かしても正解・不正解が入れ替わるデータがなければ値はまったく変わらず、変わるときは
# 1/N ずつ階段状に飛ぶ (グラフの左)。つまり認識精度の微分はほとんどの場所で 0 (段差の
# ところでは微分できない) で、どちらへ動かせばよいかの手掛かりにならない。損失関数
# (交差エントロピー誤差) は出力の確率に応じて連続的・なめらかに変わるので (グラフの右)、
# パラメータを少し動かせば値も少し変わり、微分 (勾配) が 0 にならずに「減らす方向」を
# 教えてくれる。だから損失関数を小さくするように学習する。

# %% [markdown] nbgrader={"grade": false, "grade_id": "a1_summary", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## まとめ
#
# - 損失関数は、ネットワークの出力と教師データのずれを 1 つの数値で表す。小さいほど良い。
# - 2乗和誤差 $E = \frac{1}{2}\sum_k (y_k - t_k)^2$、交差エントロピー誤差
#   $E = -\sum_k t_k \log y_k$。交差エントロピー誤差では $\log 0$ を避けるため、
#   log の中に `delta = 1e-7` を足す。
# - ミニバッチ学習では、バッチの損失をデータ数で割って平均する。データ 1 つ (1 次元) にも、
#   ワンホット表現にも正解ラベルにも対応させておくと便利。
# - 認識精度は微分がほとんど 0 で学習の手掛かりにならないので、微分できてなめらかに変わる
#   損失関数を指標にする。
#
# 次の課題では、この損失関数を小さくするための **数値微分** と **勾配** を学びます。

# %% [markdown] nbgrader={"grade": false, "grade_id": "a1_try_more", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## もっと試す (自由課題・採点されません)
#
# 新しいセルを作って試してみましょう (提出の前に消す必要はありません)。
#
# - 正解クラスの出力 $y_k$ を 0.01 から 1 まで変えながら、2乗和誤差と交差エントロピー誤差をグラフにして比べる。
#   $y_k$ が 0 に近い (大きく間違えている) とき、どちらの損失が大きくなるでしょうか。
# - `delta` を `1e-7` から `1e-3` や `1e-12` に変えると、`y_zero` の交差エントロピー誤差はどう変わるか。
# - 「4. なぜ損失関数を使うのか」のデータ数を 30 から 300 に増やすと、認識精度の階段はどうなるか。

# %% [markdown] nbgrader={"grade": false, "grade_id": "a1_before_submit", "locked": true, "schema_version": 3, "solution": false, "task": false}
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
# %% nbgrader={"grade": false, "grade_id": "a1_check_summary", "locked": true, "schema_version": 3, "solution": false, "task": false}
# テストの結果のまとめ (このセルは採点されません。上のテストセルの結果を表にします)
_Summary([("問 1", "test_sum_squared_error", 2),
          ("問 2", "test_cross_entropy_error", 2),
          ("問 4", "test_cross_entropy_error_batch", 2),
          ("問 5", "test_cross_entropy_error_labels", 1)])
