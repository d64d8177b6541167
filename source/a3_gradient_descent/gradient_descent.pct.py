# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown] nbgrader={"grade": false, "grade_id": "intro_gradient_descent", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # 課題 3: 勾配法 (gradient descent)
#
# 前回の課題では、関数の **勾配 (gradient)** を数値微分で求めました。勾配は、各点で関数の値を
# 最も大きく増やす向きを指します。その逆向きに少しずつ進めば関数の値を小さくできます。
# これが **勾配法** です。ニューラルネットの学習では、**損失関数 (loss function)** が最小になる
# 重みパラメータを勾配法で探します。
#
# この課題で学ぶこと:
#
# 1. 勾配法の関数 `gradient_descent` を実装し、$f(x_0, x_1) = x_0^2 + x_1^2$ の最小値を探す
# 2. **学習率 (learning rate)** が大きすぎる・小さすぎるとどうなるかを実験する
# 3. 重み 2×3 だけをもつ簡単なニューラルネット `simpleNet` で、重みに関する勾配 $\partial L / \partial W$ を求める
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

# %%
import numpy as np
import matplotlib.pyplot as plt

# %% nbgrader={"grade": false, "grade_id": "a3_test_helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
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


# %% [markdown]
# ## 1. 準備: 数値微分による勾配 (前回の復習)
#
# 前回の課題で作った `numerical_gradient(f, x)` を、ここでは完成品として用意しました (読み取り専用)。
# 中心差分 $\dfrac{f(x+h) - f(x-h)}{2h}$ で各要素の **偏微分 (partial derivative)** を求めます。
# スライドの版は `for idx in range(x.size)` で 1 次元の配列 (ベクトル) にしか使えませんが、
# これは `np.nditer` で要素を順に回すので、行列 (たとえば 2×3 の重み) にもそのまま使えます。

# %% tags=["raises-exception"] nbgrader={"grade": false, "grade_id": "given_numerical_gradient", "locked": true, "schema_version": 3, "solution": false, "task": false}
def numerical_gradient(f, x):
    """f の x における勾配を中心差分で求める。x はどんな形の float 配列でもよい。"""
    h = 1e-4  # 0.0001
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        idx = it.multi_index
        tmp_val = x[idx]
        x[idx] = tmp_val + h
        fxh1 = f(x)  # f(x+h)
        x[idx] = tmp_val - h
        fxh2 = f(x)  # f(x-h)
        grad[idx] = (fxh1 - fxh2) / (2 * h)
        x[idx] = tmp_val  # 値を元に戻す
    return grad


def function_2(x):
    """f(x0, x1) = x0**2 + x1**2"""
    return np.sum(x ** 2)


print(numerical_gradient(function_2, np.array([3.0, 4.0])))  # [6. 8.] になるはず

# %% [markdown]
# ## 2. 勾配法
#
# 勾配法では、今いる点から勾配の逆向きに少しだけ進む、という更新を何度も繰り返します。
# 式で書くと (2 変数の場合)
#
# $$
# x_0 \leftarrow x_0 - \eta \frac{\partial f}{\partial x_0}, \qquad
# x_1 \leftarrow x_1 - \eta \frac{\partial f}{\partial x_1}
# $$
#
# $\eta$ (イータ) が **学習率** で、1 回の更新でどれだけ進むかを決めます。
# 勾配の逆向きに進んで最小値を探すので **勾配降下法 (gradient descent method)** とも呼びます
# (符号を変えて最大値を探す勾配上昇法もありますが、本質は同じです)。
#
# ### 問 1: `gradient_descent` (4 点)
#
# `gradient_descent(f, init_x, lr=0.01, step_num=100)` を実装してください。
#
# - `f`: 最小にしたい関数、`init_x`: 出発点 (float の配列)、`lr`: 学習率、`step_num`: 更新の回数
# - 更新 $x \leftarrow x - \mathrm{lr} \cdot \nabla f(x)$ を `step_num` 回繰り返す (勾配は上の `numerical_gradient` で求める)
# - 返り値は `(x, x_history)`: `x` は最後の点、`x_history` は **更新する前の** `x` を毎回記録した
#   NumPy 配列で、形は `(step_num, 変数の数)`、最初の行は `init_x` です。
#
# **注意 (スライドのコードの落とし穴)**: スライドの実装は `x = init_x` で始まります。
# NumPy では、これは配列のコピーではなく *同じ配列に別の名前を付ける* (エイリアス) だけです。
# そのため `x -= lr * grad` で `x` を書き換えると、呼び出し元の `init_x` まで書き換わってしまいます。
# 次の例で確かめてみましょう。

# %% tags=["raises-exception"]
a = np.array([-3.0, 4.0])
b = a          # コピーではない: b と a は同じ配列
b -= 1.0       # その場で (in-place) 書き換える
print("a =", a, " (a まで変わった)")
c = a.copy()   # コピー
c -= 1.0
print("a =", a, " (今度は変わらない)")

# %% [markdown]
# あなたの `gradient_descent` は、呼び出し元の `init_x` を書き換えないようにしてください
# (最初に `init_x.copy()` や `np.array(init_x, dtype=float)` でコピーを作ります)。
# 同じ理由で、`x_history` に記録するのも `x` そのものではなく、その時点のコピーです。

# %% tags=["raises-exception"] nbgrader={"grade": false, "grade_id": "gradient_descent", "locked": false, "schema_version": 3, "solution": true, "task": false}
def gradient_descent(f, init_x, lr=0.01, step_num=100):
    """勾配法で f を最小にする。返り値は (最後の x, 更新前の x を記録した配列 x_history)。"""
    ### BEGIN SOLUTION
    x = np.array(init_x, dtype=float)  # コピー (init_x を書き換えない)
    history = []
    for _ in range(step_num):
        history.append(x.copy())  # 更新の前に記録
        x -= lr * numerical_gradient(f, x)  # 勾配の逆向きに進む
    return x, np.array(history)
    ### END SOLUTION


# %% tags=["raises-exception"] nbgrader={"grade": true, "grade_id": "test_gradient_descent", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# テストセル: test_gradient_descent
"""gradient_descent の最終的な x: スライドの例 (init_x = [-3.0, 4.0], lr=0.1, step_num=100) で原点に近づくか"""
x_final, _ = gradient_descent(function_2, init_x=np.array([-3.0, 4.0]), lr=0.1, step_num=100)
assert np.shape(x_final) == (2,), "x は長さ 2 の配列のはずです"
ASCENT = "x が原点から遠ざかっています。勾配の逆向きに進むので x から lr * grad を引きます。符号が + になっていませんか？"
assert np.all(np.abs(x_final) < 1e-8), _explain(
    x_final, [0.0, 0.0], "最後の x (原点 (0, 0) のすぐ近くのはず)",
    [([-3.0, 4.0], "x が init_x から動いていません。ループの中で x を更新していますか？")],
    ASCENT if np.sum(np.square(x_final)) > 25.0 else "")
assert np.all(x_final * np.array([-3.0, 4.0]) > 0), "符号が変わっています。x -= lr * grad ですか？"
### BEGIN HIDDEN TESTS
from autograders import a3_gradient_descent
a3_gradient_descent.check_gradient_descent(gradient_descent)
### END HIDDEN TESTS

# %% tags=["raises-exception"] nbgrader={"grade": true, "grade_id": "test_gradient_descent_history", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# テストセル: test_gradient_descent_history
"""gradient_descent の x_history: 形が (step_num, 2) で、最初の行が init_x、各行が更新前の x か"""
_, hist = gradient_descent(function_2, init_x=np.array([-3.0, 4.0]), lr=0.1, step_num=100)
hist = np.asarray(hist)
assert hist.shape == (100, 2), _explain(hist.shape, (100, 2), "x_history の形 (step_num, 2)", [
    ((101, 2), "x_history の行数が step_num + 1 です。更新の前に記録すると、記録はちょうど step_num 回です"
               " (最後に更新した x は返り値の x)。"),
    ((99, 2), "更新の回数が step_num と 1 回ずれているようです。ちょうど step_num 回更新してください。")])
assert not np.all(hist == hist[-1]), \
    "x_history のすべての行が同じ値です。x をそのまま append すると、同じ配列を何度も記録することになります" \
    " (x -= ... で全部の行が一緒に変わる)。記録するのは、そのときの x のコピーです。"
assert np.allclose(hist[0], [-3.0, 4.0]), _explain(hist[0], [-3.0, 4.0], "x_history の最初の行 (init_x のはず)", [
    ([-2.4, 3.2], "最初の行が 1 回更新したあとの x です。x を更新する『前』に記録してください。")])
assert np.allclose(hist[1], [-2.4, 3.2]), _explain(hist[1], [-2.4, 3.2], "x_history の 2 行目 (1 回更新した x)",
                                                   [([-3.6, 4.8], ASCENT)])
### BEGIN HIDDEN TESTS
from autograders import a3_gradient_descent
a3_gradient_descent.check_gradient_descent_history(gradient_descent)
### END HIDDEN TESTS

# %% tags=["raises-exception"] nbgrader={"grade": true, "grade_id": "test_gradient_descent_init_x", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# テストセル: test_gradient_descent_init_x
"""gradient_descent が呼び出し元の init_x を書き換えないか"""
start = np.array([-3.0, 4.0])
gradient_descent(function_2, start, lr=0.1, step_num=10)
assert np.array_equal(start, [-3.0, 4.0]), \
    f"init_x が書き換えられています: 期待値 [-3.0, 4.0]、呼び出し後の init_x {_show(start)}。" \
    "x = init_x は配列のコピーではなく、同じ配列に別の名前を付けるだけです。そのあと x -= ... とすると" \
    "呼び出し元の init_x まで書き換わります (上の a, b の例)。"
### BEGIN HIDDEN TESTS
from autograders import a3_gradient_descent
a3_gradient_descent.check_gradient_descent_init_x(gradient_descent)
### END HIDDEN TESTS

# %% [markdown]
# ### 勾配法による更新の経路
#
# $f(x_0, x_1) = x_0^2 + x_1^2$ の等高線の上に、$(-3, 4)$ から出発した
# 更新の経路 (`x_history`) を描きます。点が原点 (最小値の場所) に向かって進んでいく様子を確かめましょう。

# %% tags=["raises-exception"]
path_end, path = gradient_descent(function_2, np.array([-3.0, 4.0]), lr=0.1, step_num=100)
print("最後の x:", path_end)

g0, g1 = np.meshgrid(np.linspace(-4.5, 4.5, 200), np.linspace(-4.5, 4.5, 200))
fig, ax = plt.subplots(figsize=(5, 5))
ax.contour(g0, g1, g0 ** 2 + g1 ** 2, levels=[0.5, 2, 4.5, 8, 12.5, 18, 24.5], colors="gray",
           linestyles="--", linewidths=0.8)
ax.plot(path[:, 0], path[:, 1], "o-", markersize=4)
ax.plot([-5, 5], [0, 0], "--b", linewidth=0.5)
ax.plot([0, 0], [-5, 5], "--b", linewidth=0.5)
ax.set_xlim(-3.5, 3.5)
ax.set_ylim(-4.5, 4.5)
ax.set_xlabel("X0")
ax.set_ylabel("X1")
ax.set_title("gradient descent: lr=0.1, step_num=100")
plt.show()

# %% [markdown]
# ## 3. 学習率を変えてみる
#
# 学習率 $\eta$ は大きすぎても小さすぎても、よい場所にたどり着けません。
#
# ### 問 2: 学習率の実験 (1 点)
#
# 同じ出発点 `[-3.0, 4.0]`、同じ `step_num=100` で、
#
# - 学習率が大きすぎる場合 `lr=10.0` の最後の `x` を `x_large_lr` に、
# - 学習率が小さすぎる場合 `lr=1e-10` の最後の `x` を `x_small_lr` に
#
# 入れて、表示してください。

# %% tags=["raises-exception"] nbgrader={"grade": false, "grade_id": "learning_rate_experiments", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
x_large_lr, _ = gradient_descent(function_2, np.array([-3.0, 4.0]), lr=10.0, step_num=100)
x_small_lr, _ = gradient_descent(function_2, np.array([-3.0, 4.0]), lr=1e-10, step_num=100)
### END SOLUTION
print("lr=10.0 :", x_large_lr)
print("lr=1e-10:", x_small_lr)

# %% tags=["raises-exception"] nbgrader={"grade": true, "grade_id": "test_learning_rate_experiments", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# テストセル: test_learning_rate_experiments
"""学習率の実験: lr=10.0 では発散し、lr=1e-10 ではほとんど動かないか"""
assert np.linalg.norm(x_large_lr) > 1e6, _explain(x_large_lr, "とても大きな値 (発散)", "lr=10.0 の x_large_lr", [
    ([-3.0, 4.0], "init_x と同じ値です。lr=10.0, step_num=100 で gradient_descent を呼んだ結果を x_large_lr に"
                  "入れていますか？ (lr=1.0 では x は毎回符号が反転するだけで、発散しません)")],
    "lr=10.0, step_num=100 で gradient_descent を呼んだ結果を x_large_lr に入れてください。")
assert np.allclose(x_small_lr, [-3.0, 4.0], atol=1e-6), _explain(
    x_small_lr, [-3.0, 4.0], "lr=1e-10 の x_small_lr ([-3, 4] からほとんど動かないはず)",
    otherwise="lr=1e-10, step_num=100 で gradient_descent を呼んだ結果を x_small_lr に入れてください。")
### BEGIN HIDDEN TESTS
from autograders import a3_gradient_descent
a3_gradient_descent.check_learning_rate(x_large_lr, x_small_lr)
### END HIDDEN TESTS

# %% [markdown]
# #### lr=10.0 の結果が約 $-2.6 \times 10^{13}$ で止まるのはなぜか
#
# $f(x_0, x_1) = x_0^2 + x_1^2$ の勾配は $(2x_0, 2x_1)$ なので、1 回の更新は
# $x \leftarrow x - 10 \cdot 2x = -19x$ です。最初の 10 回ほどは、毎回 $-19$ 倍になって原点から遠ざかります
# ($-3 \to 57 \to -1083 \to \cdots$)。ところが $|x|$ が $10^{12}$ くらいになると、課題 2 の「h の大きさと誤差」で見た
# **丸め誤差** が効きます。そのくらい大きな数どうしの間隔は約 0.004 なので、$x + h$ ($h = 10^{-4}$) が
# $x$ と同じ数に丸められ、数値微分の勾配が 0 になります。勾配が 0 なので $x$ はそれ以上動かず、
# $[-2.6 \times 10^{13}, -1.3 \times 10^{12}]$ のまま残ります。最小値に着いたのではなく、発散して数値微分が
# 働かなくなった結果です (本当の勾配 $2x$ はとても大きい)。

# %% [markdown]
# ### 学習率を変えながら確かめる (採点されません)
#
# 学習率のようなハイパーパラメータは、値を **変更しながら確認する** 作業が必要です。次のセルを実行すると
# スライダーが 2 つ出ます。学習率 `lr` と更新の回数 `step_num` を動かすと、**あなたの** `gradient_descent` で
# 計算した $(-3, 4)$ からの経路が、等高線の上に描き直されます。
#
# 試してみましょう: `lr` = 0.01 (ゆっくり進む)、0.1、0.5 (1 回で原点に着く)、0.9 (原点の両側を行き来する)、
# 1.0 (同じ 2 点を行き来して進まない)、1 より少しでも大きい値 (例えば 1.05: 発散する)、上の実験の 1e-10 と 10。
# 関数 $f(x_0, x_1) = x_0^2 + x_1^2$ では 1 回の更新で $x \leftarrow (1 - 2\,\mathrm{lr})\, x$ になります。
# $|1 - 2\,\mathrm{lr}| < 1$、つまり $0 < \mathrm{lr} < 1$ なら原点に近づき、$\mathrm{lr} > 1$ なら 1 回ごとに
# 原点から遠ざかって発散します。図の範囲は経路に合わせて広がるので、発散すると軸の目盛りが大きくなります。
#
# スライダーは JupyterLab、Jupyter Notebook、Google Colab で動きます (`ipywidgets` を使います。
# インストールされていなければ、代わりにいくつかの学習率の図を並べて表示します)。

# %% tags=["raises-exception"]
def plot_descent(lr=0.1, step_num=20):
    """あなたの gradient_descent で (-3, 4) から出発した経路を、f(x0, x1) = x0**2 + x1**2 の等高線の上に描く"""
    try:
        x_end, path = gradient_descent(function_2, np.array([-3.0, 4.0]), lr=lr, step_num=step_num)
        x_end, path = np.asarray(x_end, dtype=float).reshape(2), np.asarray(path, dtype=float).reshape(-1, 2)
    except Exception as err:  # まだ実装していない、またはエラーになった
        print(f"gradient_descent を使えませんでした ({type(err).__name__}: {err})。先に問 1 を仕上げてください。")
        return
    path = np.vstack([path, x_end])  # 更新前の点の記録 + 最後の点
    finite = path[np.all(np.isfinite(path), axis=1)]
    lim = max(4.5, 1.1 * np.max(np.abs(finite))) if len(finite) else 4.5  # 図の範囲は経路が入る大きさ
    g0, g1 = np.meshgrid(np.linspace(-lim, lim, 100), np.linspace(-lim, lim, 100))
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.contour(g0, g1, g0 ** 2 + g1 ** 2, levels=(lim / 4.5) ** 2 * np.array([0.5, 2, 4.5, 8, 12.5, 18, 24.5]),
               colors="gray", linestyles="--", linewidths=0.8)
    ax.plot(path[:, 0], path[:, 1], "o-", markersize=4)
    ax.plot(0, 0, "+k", markersize=12)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_xlabel("X0")
    ax.set_ylabel("X1")
    ax.set_title(f"lr={lr:.3g}, step_num={step_num}: last x = [{x_end[0]:.3g}, {x_end[1]:.3g}]")
    plt.show()


try:
    import ipywidgets as widgets
except ImportError:  # スライダーの代わりに、いくつかの学習率の図を表示する
    print("ipywidgets がないので、いくつかの学習率の図を表示します (pip install ipywidgets でスライダーが使えます)。")
    for example_lr in (0.01, 0.1, 0.5, 0.9, 1.05):
        plot_descent(example_lr, 20)
else:
    widgets.interact(
        plot_descent,
        lr=widgets.FloatLogSlider(value=0.1, base=10, min=-10, max=1, step=0.1, description="学習率 lr",
                                  continuous_update=False),
        step_num=widgets.IntSlider(value=20, min=1, max=200, description="step_num", continuous_update=False))

# %% [markdown]
# ### 問 3 (2 点、記述問題: 教員が採点)
#
# 上の実験の結果から、(1) 学習率が大きすぎるとき・小さすぎるときに何が起きるか、
# (2) 学習率のような値を **ハイパーパラメータ (hyper-parameter)** と呼ぶのはなぜか
# (重みパラメータとの違い)、を 3〜5 文で説明してください。

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_learning_rate", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# **採点の観点** (リリース版には含まれません):
#
# - 大きすぎる (lr=10.0): 1 回の更新で最小値を飛び越え、値が振動しながら大きくなって発散する。
# - 小さすぎる (lr=1e-10): ほとんど動かず、100 回では最小値にたどり着けない (学習が進まない)。
# - 重み・バイアスは学習 (勾配法) によってデータから自動で決まるが、学習率は人が前もって決める設定値で、
#   学習では決まらない。だからハイパーパラメータと呼び、いくつかの値を試して確かめる必要がある。
#
# **解答例**:
#
# 学習率が大きすぎる (lr=10.0) と、1 回の更新で最小値を大きく飛び越えてしまい、
# 更新のたびに符号を変えながら原点から遠ざかって、x はとても大きな値に発散しました。
# 反対に小さすぎる (lr=1e-10) と、1 回の更新でほとんど進まないため、100 回更新しても
# 出発点 (-3, 4) からほぼ動かず、最小値にたどり着けません。
# 重みやバイアスは勾配法によってデータから自動的に学習されますが、学習率は学習の前に人が決める
# 設定値で、勾配法では決まりません。このような値をハイパーパラメータと呼び、
# いくつかの値を試しながら、うまく学習できる値を探す必要があります。
# ### END SOLUTION

# %% [markdown]
# ## 4. ニューラルネットに対する勾配
#
# ニューラルネットの学習では、損失関数 $L$ の **重みパラメータに関する勾配** を求めます。
# たとえば 2×3 の重み $W$ だけをもつニューラルネットでは、勾配 $\dfrac{\partial L}{\partial W}$ も 2×3 の行列です。
#
# $$
# W = \begin{pmatrix} w_{11} & w_{12} & w_{13} \\ w_{21} & w_{22} & w_{23} \end{pmatrix}, \qquad
# \frac{\partial L}{\partial W} = \begin{pmatrix}
# \frac{\partial L}{\partial w_{11}} & \frac{\partial L}{\partial w_{12}} & \frac{\partial L}{\partial w_{13}} \\
# \frac{\partial L}{\partial w_{21}} & \frac{\partial L}{\partial w_{22}} & \frac{\partial L}{\partial w_{23}}
# \end{pmatrix}
# $$
#
# $\dfrac{\partial L}{\partial w_{11}}$ は「$w_{11}$ を少しだけ増やしたとき、損失 $L$ がどれだけ変わるか」を表します。
#
# 出力層で使う `softmax` と、損失関数 `cross_entropy_error` (交差エントロピー誤差 (cross entropy error)、
# 課題 1 で実装) を用意しました (読み取り専用)。

# %% tags=["raises-exception"] nbgrader={"grade": false, "grade_id": "given_softmax_cross_entropy", "locked": true, "schema_version": 3, "solution": false, "task": false}
def softmax(x):
    """最後の軸についてのソフトマックス関数 (大きな値でもオーバーフローしないよう最大値を引く)"""
    x = x - np.max(x, axis=-1, keepdims=True)
    return np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)


def cross_entropy_error(y, t):
    """交差エントロピー誤差 (バッチ対応、t は ワンホット表現)"""
    if y.ndim == 1:
        t = t.reshape(1, t.size)
        y = y.reshape(1, y.size)
    batch_size = y.shape[0]
    delta = 1e-7
    return -np.sum(t * np.log(y + delta)) / batch_size


# %% [markdown]
# ### 問 4: `simpleNet` (2 点)
#
# 重み `W` (形 (2, 3)) だけをもつ簡単なニューラルネットのクラス `simpleNet` を完成させてください。
#
# - `__init__`: 重みをガウス分布の乱数で初期化します (済み)。
# - `predict(x)`: 入力 `x` (形 (2,) または (N, 2)) に対して、スコア `np.dot(x, self.W)` を返す。
# - `loss(x, t)`: `predict` の結果を `softmax` で確率にし、正解ラベル `t` (ワンホット表現) との
#   `cross_entropy_error` を返す。

# %% tags=["raises-exception"] nbgrader={"grade": false, "grade_id": "simple_net", "locked": false, "schema_version": 3, "solution": true, "task": false}
class simpleNet:
    """2×3 の重み W だけをもつニューラルネット"""

    def __init__(self):
        self.W = np.random.randn(2, 3)  # ガウス分布で初期化

    def predict(self, x):
        ### BEGIN SOLUTION
        return np.dot(x, self.W)
        ### END SOLUTION

    def loss(self, x, t):
        ### BEGIN SOLUTION
        z = self.predict(x)
        y = softmax(z)
        return cross_entropy_error(y, t)
        ### END SOLUTION


# %% tags=["raises-exception"] nbgrader={"grade": true, "grade_id": "test_simple_net", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# テストセル: test_simple_net
"""simpleNet の predict と loss: 教科書『ゼロから作る Deep Learning』の例と同じ重み W で値を比べる"""
net = simpleNet()
net.W = np.array([[0.47355232, 0.9977393, 0.84668094],
                  [0.85557411, 0.03563661, 0.69422093]])
scores = net.predict(np.array([0.6, 0.9]))
assert np.allclose(scores, [1.05414809, 0.63071653, 1.1328074]), _explain(
    scores, [1.05414809, 0.63071653, 1.1328074], "predict の値 (スコア)", [
        ([0.36541271, 0.23927078, 0.39531651], "softmax を通した確率になっています。predict は softmax を通す前の"
                                               "スコアを返します (softmax は loss の中で使います)。")])
L = net.loss(np.array([0.6, 0.9]), np.array([0, 0, 1]))
assert np.isclose(L, 0.92806853663411326), _explain(L, 0.92806853663411326, "loss の値", [
    (-0.12469906469811294, "predict のスコアをそのまま cross_entropy_error に渡していませんか？"
                           "先に softmax で確率にしてください。")],
    "loss は softmax で確率にしてから交差エントロピー誤差を求めます。")
### BEGIN HIDDEN TESTS
from autograders import a3_gradient_descent
a3_gradient_descent.check_simple_net(simpleNet)
### END HIDDEN TESTS

# %% [markdown]
# ### 問 5: 重みに関する勾配 `dW` (2 点)
#
# 次のセルの `net`, `x`, `t` について、損失関数の重みに関する勾配 `dW` を `numerical_gradient` で
# 求めてください。`numerical_gradient` に渡す関数は「重み `W` を受け取って損失を返す関数」です:
#
# ```python
# f = lambda W: net.loss(x, t)
# ```
#
# 引数 `W` は使っていないように見えますが、`numerical_gradient(f, net.W)` とすると、
# `numerical_gradient` が `net.W` の要素を直接少しずつ書き換えながら `f` を呼ぶので、
# `net.loss` はその書き換えられた重みで計算されます (ですから、コピーではなく `net.W` そのものを渡します)。
# `dW` の形は `net.W` と同じ (2, 3) になります。

# %% tags=["raises-exception"] nbgrader={"grade": false, "grade_id": "simple_net_gradient", "locked": false, "schema_version": 3, "solution": true, "task": false}
net = simpleNet()
net.W = np.array([[0.47355232, 0.9977393, 0.84668094],
                  [0.85557411, 0.03563661, 0.69422093]])  # 教科書『ゼロから作る Deep Learning』の例と同じ重み
x = np.array([0.6, 0.9])
t = np.array([0, 0, 1])  # 正解はクラス 2

### BEGIN SOLUTION
f = lambda W: net.loss(x, t)  # noqa: E731
dW = numerical_gradient(f, net.W)
### END SOLUTION
print(dW)

# %% tags=["raises-exception"] nbgrader={"grade": true, "grade_id": "test_simple_net_gradient", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# テストセル: test_simple_net_gradient
"""simpleNet の重みに関する勾配 dW: 形が (2, 3) で、教科書『ゼロから作る Deep Learning』の例の値と一致するか"""
assert np.shape(dW) == (2, 3), f"dW の形は W と同じ (2, 3) のはずです: {np.shape(dW)}"
assert np.allclose(dW, [[0.21924763, 0.14356247, -0.36281009],
                        [0.32887144, 0.2153437, -0.54421514]], rtol=1e-4), _explain(
    dW, [[0.21924763, 0.14356247, -0.36281009], [0.32887144, 0.2153437, -0.54421514]], "dW の値", [
        (np.zeros((2, 3)), "dW がすべて 0 です。numerical_gradient がずらした W を net.loss が読んでいますか？"
                           " (net.W のコピーをずらしても、net.loss の値は変わりません)"),
        ([[0, 0, -0.52965756], [0, 0, -0.79448634]], "softmax を通さない損失の勾配です。"
                                                     "上の simpleNet.loss のテストを先に直してください。"),
        (-np.array([[0.21924763, 0.14356247, -0.36281009], [0.32887144, 0.2153437, -0.54421514]]),
         "符号が逆です。")])
### BEGIN HIDDEN TESTS
from autograders import a3_gradient_descent
a3_gradient_descent.check_simple_net_gradient(dW)
### END HIDDEN TESTS

# %% [markdown]
# `dW` の各要素の符号に注目しましょう。たとえば $\dfrac{\partial L}{\partial w_{23}}$ は負なので、
# $w_{23}$ を増やすと損失は減ります。$\dfrac{\partial L}{\partial w_{11}}$ は正なので、$w_{11}$ は減らす方が
# よいことがわかります。勾配法では `net.W -= lr * dW` のように、この勾配の逆向きに重みを更新します。
#
# ## まとめ
#
# - **勾配法**: 勾配の逆向きに $x \leftarrow x - \eta \nabla f(x)$ と少しずつ進む更新を繰り返して、
#   関数の値が小さくなる場所を探す。ニューラルネットの学習では、損失関数を小さくする重みパラメータを探す。
# - **学習率** $\eta$ は大きすぎると発散し、小さすぎるとほとんど進まない。学習では決まらず人が決める
#   **ハイパーパラメータ** なので、値を変えながら確かめる。
# - NumPy の `x = init_x` はコピーではない。呼び出し元の配列を書き換えないよう `copy()` を使う。
# - ニューラルネットの重み $W$ に関する勾配 $\partial L / \partial W$ は $W$ と同じ形の行列で、
#   数値微分 `numerical_gradient(lambda W: net.loss(x, t), net.W)` で求められる。
#
# 次の課題では、これらを組み合わせて 2 層ニューラルネットを作り、MNIST の手書き数字を学習させます。

# %% [markdown] nbgrader={"grade": false, "grade_id": "a3_try_more", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## もっと試す (自由課題・採点されません)
#
# 新しいセルを作って試してみましょう (提出の前に消す必要はありません)。
#
# - スライダーで `lr` = 0.9、0.99、1.0、1.01 を試し、$1 - 2\,\mathrm{lr}$ の値と経路の形を比べる。
# - 関数を $f(x_0, x_1) = x_0^2 + 10x_1^2$ に変えて、発散しない一番大きな学習率を探す
#   (ヒント: 1 回の更新で $x_1 \leftarrow (1 - 20\,\mathrm{lr})\, x_1$)。
# - `simpleNet` で `net.W -= 0.1 * dW` を 100 回繰り返し (毎回 `dW` を求め直す)、損失がどう減るかをグラフにする。

# %% [markdown] nbgrader={"grade": false, "grade_id": "a3_before_submit", "locked": true, "schema_version": 3, "solution": false, "task": false}
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
# %% nbgrader={"grade": false, "grade_id": "a3_check_summary", "locked": true, "schema_version": 3, "solution": false, "task": false}
# テストの結果のまとめ (このセルは採点されません。上のテストセルの結果を表にします)
_Summary([("問 1 (最後の x)", "test_gradient_descent", 2),
          ("問 1 (x_history)", "test_gradient_descent_history", 1),
          ("問 1 (init_x)", "test_gradient_descent_init_x", 1),
          ("問 2", "test_learning_rate_experiments", 1),
          ("問 4", "test_simple_net", 2),
          ("問 5", "test_simple_net_gradient", 2)])
