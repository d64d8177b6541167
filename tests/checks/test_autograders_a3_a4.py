"""Checks of autograders.a3_gradient_descent and autograders.a4_two_layer_net, called directly.

A check receives ``Remote`` handles, as in grading; here they are backed by the local call
server (``nncourse.kernel.local``: the kernel's ``Server`` and wire format in-process).
The reference and the notebooks' own solutions pass every check; correct variants (the
slides' code with its bugs fixed, other loops, float32, the book's softmax) pass; each
typical mistake fails *its* check with the expected hint.
"""
from pathlib import Path

import jupytext
import numpy as np
import pytest

import reference as ref
from autograders import CheckFailed
from autograders.compare import set_submission_seed
from autograders import a3_gradient_descent as A3
from autograders import a4_two_layer_net as A4
from nncourse.kernel.local import local_student, remotes

ROOT = Path(__file__).resolve().parents[2]
numerical_gradient = ref.numerical_gradient


def notebook_namespace(twin, grade_ids):
    """Run the code cells with these grade_ids of a source twin; return their namespace."""
    ns = {"np": np}
    for cell in jupytext.read(ROOT / twin, fmt="py:percent").cells:
        if cell.cell_type == "code" and \
                cell.metadata.get("nbgrader", {}).get("grade_id") in grade_ids:
            exec(compile(cell.source, str(twin), "exec"), ns)
    return ns


def on(*objects):
    """``Remote`` handles of ``objects`` (the student's functions, classes or variables)."""
    return remotes(**{f"arg{i}": obj for i, obj in enumerate(objects)})


def run(check, *objects):
    """``check`` on Remote handles of ``objects``; raises CheckFailed if it fails."""
    check(*on(*objects))


def round_trips(check, *objects):
    """How many requests ``check`` sent to the (local) kernel for ``objects``."""
    names = {f"arg{i}": obj for i, obj in enumerate(objects)}
    student = local_student(names)
    check(*[student[n] for n in names])
    return student.calls


def fails(check, *args, hint):
    with pytest.raises(CheckFailed) as exc:
        run(check, *args)
    msg = str(exc.value)
    assert hint in msg, msg
    assert msg.startswith("[採点]") and "Traceback" not in msg
    return msg


# ======================================================================== a3: gradient descent
A3_NB = notebook_namespace("source/a3_gradient_descent/gradient_descent.pct.py",
                           {"given_numerical_gradient", "gradient_descent",
                            "given_softmax_cross_entropy", "simple_net"})
GD_CHECKS = [A3.check_gradient_descent, A3.check_gradient_descent_history,
             A3.check_gradient_descent_init_x]


def gd_slides(f, init_x, lr=0.01, step_num=100):
    """The slides' code, verbatim: x = init_x aliases the caller's array."""
    x = init_x
    x_history = []
    for i in range(step_num):
        x_history.append(x.copy())
        grad = numerical_gradient(f, x)
        x -= lr * grad
    return x, np.array(x_history)


def gd_slides_fixed(f, init_x, lr=0.01, step_num=100):
    x = init_x.copy()
    x_history = []
    for i in range(step_num):
        x_history.append(x.copy())
        x -= lr * numerical_gradient(f, x)
    return x, np.array(x_history)


def gd_rebind(f, init_x, lr=0.01, step_num=100):
    """x = x - ... makes a new array each step, so even x = init_x is harmless."""
    x = init_x
    x_history = np.zeros((step_num, len(init_x)))
    for i in range(step_num):
        x_history[i] = x
        x = x - lr * numerical_gradient(f, x)
    return x, x_history


def gd_list_history(f, init_x, lr=0.01, step_num=100):
    x = np.array(init_x, dtype=float)
    hist = []
    for _ in range(step_num):
        hist.append(list(x))
        x = x - numerical_gradient(f, x) * lr
    return x, hist                      # a list of lists: accepted


def gd_ascent(f, init_x, lr=0.01, step_num=100):
    x, hist = init_x.copy(), []
    for _ in range(step_num):
        hist.append(x.copy())
        x += lr * numerical_gradient(f, x)
    return x, np.array(hist)


def gd_record_after(f, init_x, lr=0.01, step_num=100):
    x, hist = init_x.copy(), []
    for _ in range(step_num):
        x -= lr * numerical_gradient(f, x)
        hist.append(x.copy())
    return x, np.array(hist)


def gd_no_copy_history(f, init_x, lr=0.01, step_num=100):
    x, hist = init_x.copy(), []
    for _ in range(step_num):
        hist.append(x)                  # the same array every time
        x -= lr * numerical_gradient(f, x)
    return x, np.array(hist)


def gd_extra_row(f, init_x, lr=0.01, step_num=100):
    x, hist = init_x.copy(), []
    for _ in range(step_num):
        hist.append(x.copy())
        x -= lr * numerical_gradient(f, x)
    hist.append(x.copy())
    return x, np.array(hist)


def gd_wrong_defaults(f, init_x, lr=0.1, step_num=100):
    return gd_slides_fixed(f, init_x, lr, step_num)


def gd_one_step_short(f, init_x, lr=0.01, step_num=100):
    x, hist = init_x.copy(), [init_x.copy()]
    for _ in range(step_num - 1):
        x -= lr * numerical_gradient(f, x)
        hist.append(x.copy())
    return x, np.array(hist)


@pytest.mark.parametrize("gd", [ref.gradient_descent, A3_NB["gradient_descent"],
                                gd_slides_fixed, gd_rebind, gd_list_history])
def test_correct_gradient_descent_passes(gd):
    for check in GD_CHECKS:
        run(check, gd)


def test_slides_code_fails_only_init_x():
    run(A3.check_gradient_descent, gd_slides)
    run(A3.check_gradient_descent_history, gd_slides)
    fails(A3.check_gradient_descent_init_x, gd_slides, hint="エイリアス")


@pytest.mark.parametrize("gd,check,hint", [
    (gd_ascent, A3.check_gradient_descent, "符号が + "),
    (gd_wrong_defaults, A3.check_gradient_descent, "lr=0.01, step_num=100"),
    (gd_one_step_short, A3.check_gradient_descent, "1 回ずれて"),
    (gd_record_after, A3.check_gradient_descent_history, "更新する『前』"),
    (gd_no_copy_history, A3.check_gradient_descent_history, "x.copy()"),
    (gd_extra_row, A3.check_gradient_descent_history, "step_num + 1"),
])
def test_wrong_gradient_descent_fails_its_check(gd, check, hint):
    fails(check, gd, hint=hint)
    run(A3.check_gradient_descent_init_x, gd)          # none of them touches init_x


@pytest.mark.parametrize("gd", [gd_record_after, gd_no_copy_history, gd_extra_row])
def test_history_mistakes_keep_the_final_x_points(gd):
    run(A3.check_gradient_descent, gd)


def test_student_exception_becomes_a_message():
    def broken(f, init_x, lr=0.01, step_num=100):
        raise NotImplementedError()
    fails(A3.check_gradient_descent, broken, hint="")   # raises CheckFailed, not the error


def test_gradient_descent_checks_cost_one_round_trip_each():
    for check in GD_CHECKS:
        assert round_trips(check, ref.gradient_descent) == 1


def test_init_x_is_judged_from_the_arguments_sent_back():
    """The kernel decodes a fresh init_x for the call and sends it back as it was after."""
    msg = fails(A3.check_gradient_descent_init_x, gd_slides, hint="エイリアス")
    assert "呼び出し後の init_x" in msg and "[-3.0, 4.0]" in msg


def test_missing_variables_are_named():
    student = local_student({})
    with pytest.raises(CheckFailed) as exc:
        A3.check_learning_rate(student["x_large_lr"], student["x_small_lr"])
    assert "x_large_lr が定義されていません" in str(exc.value)
    with pytest.raises(CheckFailed) as exc:
        A3.check_simple_net_gradient(student["dW"])
    assert "dW が定義されていません" in str(exc.value)


def lr_results(big, small):
    init = np.array([-3.0, 4.0])
    return (ref.gradient_descent(A3.function_2, init, lr=big, step_num=100)[0],
            ref.gradient_descent(A3.function_2, init, lr=small, step_num=100)[0])


def test_learning_rate_experiments():
    run(A3.check_learning_rate, *lr_results(10.0, 1e-10))
    run(A3.check_learning_rate, *(list(v) for v in lr_results(10.0, 1e-10)))   # lists are fine
    fails(A3.check_learning_rate, *lr_results(1.0, 1e-10), hint="lr=10.0")
    fails(A3.check_learning_rate, *lr_results(10.0, 1e-4), hint="lr=1e-10")
    fails(A3.check_learning_rate, lr_results(10.0, 1e-10)[0], np.array([-3.0, 4.0]),
          hint="lr=1e-10")


class BookSimpleNet:
    def __init__(self):
        self.W = np.random.randn(2, 3)

    def predict(self, x):
        return np.dot(x, self.W)

    def loss(self, x, t):
        return ref.cross_entropy_error(ref.softmax(self.predict(x)), t)


class SoftmaxInPredict(BookSimpleNet):
    def predict(self, x):
        return ref.softmax(np.dot(x, self.W))

    def loss(self, x, t):
        return ref.cross_entropy_error(self.predict(x), t)


class NoSoftmaxLoss(BookSimpleNet):
    def loss(self, x, t):
        return ref.cross_entropy_error(self.predict(x), t)


class SSELoss(BookSimpleNet):
    def loss(self, x, t):
        return ref.sum_squared_error(ref.softmax(self.predict(x)), t)


class MatmulSimpleNet(BookSimpleNet):
    def predict(self, x):
        return x @ self.W


def test_simple_net():
    for cls in (BookSimpleNet, MatmulSimpleNet, A3_NB["simpleNet"]):
        run(A3.check_simple_net, cls)
    fails(A3.check_simple_net, SoftmaxInPredict, hint="softmax は loss の中")
    fails(A3.check_simple_net, NoSoftmaxLoss, hint="先に softmax")
    fails(A3.check_simple_net, SSELoss, hint="2 乗和誤差ではありません")


class TransposedSimpleNet(BookSimpleNet):
    def predict(self, x):
        return np.dot(self.W.T, x)        # right for one x, fails for a batch


def test_transposed_predict_fails_with_the_order_hint():
    fails(A3.check_simple_net, TransposedSimpleNet, hint="np.dot(x, self.W)")


class NoWeightSimpleNet(BookSimpleNet):
    def __init__(self):
        self.weights = np.random.randn(2, 3)


def test_simple_net_without_W_is_told_so():
    fails(A3.check_simple_net, NoWeightSimpleNet, hint="self.W = np.random.randn(2, 3)")


def test_simple_net_check_costs_two_round_trips():
    assert round_trips(A3.check_simple_net, BookSimpleNet) == 2


def test_simple_net_keeps_numpy_random_state():
    np.random.seed(5)
    before = np.random.get_state()[1].copy()
    run(A3.check_simple_net, BookSimpleNet)
    assert np.array_equal(np.random.get_state()[1], before)


def test_simple_net_gradient():
    net = BookSimpleNet()
    net.W = np.array(A3.BOOK_W)
    x, t = np.array(A3.BOOK_X), np.array(A3.BOOK_T)
    dW = A3_NB["numerical_gradient"](lambda W: net.loss(x, t), net.W)
    run(A3.check_simple_net_gradient, dW)
    run(A3.check_simple_net_gradient, dW.astype(np.float32))
    fails(A3.check_simple_net_gradient,
          numerical_gradient(lambda W: net.loss(x, t), net.W.copy()), hint="コピーではなく")
    fails(A3.check_simple_net_gradient, -dW, hint="符号が逆")
    fails(A3.check_simple_net_gradient, dW[0], hint="")


# ========================================================================= a4: TwoLayerNet
A4_NB = notebook_namespace("source/a4_two_layer_net/two_layer_net.pct.py",
                           {"given_functions_two_layer_net", "two_layer_net",
                            "given_gradient_backprop", "gradient_check", "train_step"})
METHOD_CHECKS = [A4.check_init, A4.check_predict, A4.check_loss, A4.check_accuracy,
                 A4.check_numerical_gradient]


def book_softmax(x):
    """The book's softmax: a transpose for batches, max subtracted."""
    if x.ndim == 2:
        x = x.T
        x = x - np.max(x, axis=0)
        return (np.exp(x) / np.sum(np.exp(x), axis=0)).T
    x = x - np.max(x)
    return np.exp(x) / np.sum(np.exp(x))


def book_cross_entropy_error(y, t):
    if y.ndim == 1:
        t = t.reshape(1, t.size)
        y = y.reshape(1, y.size)
    if t.size == y.size:
        t = t.argmax(axis=1)
    batch_size = y.shape[0]
    return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size


class BookNet:
    """The book's TwoLayerNet (ch. 4), with its own softmax and cross-entropy."""

    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01):
        self.params = {}
        self.params['W1'] = weight_init_std * np.random.randn(input_size, hidden_size)
        self.params['b1'] = np.zeros(hidden_size)
        self.params['W2'] = weight_init_std * np.random.randn(hidden_size, output_size)
        self.params['b2'] = np.zeros(output_size)

    def predict(self, x):
        a1 = np.dot(x, self.params['W1']) + self.params['b1']
        z1 = ref.sigmoid(a1)
        a2 = np.dot(z1, self.params['W2']) + self.params['b2']
        return self.output(a2)

    def output(self, a2):
        return book_softmax(a2)

    def loss(self, x, t):
        return book_cross_entropy_error(self.predict(x), t)

    def accuracy(self, x, t):
        y = np.argmax(self.predict(x), axis=1)
        if t.ndim != 1:
            t = np.argmax(t, axis=1)
        return np.sum(y == t) / float(x.shape[0])

    def numerical_gradient(self, x, t):
        loss_W = lambda W: self.loss(x, t)  # noqa: E731
        return {k: numerical_gradient(loss_W, self.params[k]) for k in ('W1', 'b1', 'W2', 'b2')}

    gradient = ref.TwoLayerNet.gradient
    loss_and_gradient = ref.TwoLayerNet.loss_and_gradient


class Float32Net(BookNet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.params = {k: v.astype(np.float32) for k, v in self.params.items()}


class MeanAccuracyNet(BookNet):
    def accuracy(self, x, t):
        labels = t.argmax(axis=-1) if np.ndim(t) == 2 else t
        return np.mean(self.predict(x).argmax(axis=1) == labels)


@pytest.mark.parametrize("cls", [ref.TwoLayerNet, A4_NB["TwoLayerNet"], BookNet,
                                 MeanAccuracyNet], ids=["reference", "notebook", "book", "mean"])
def test_correct_two_layer_net_passes(cls):
    for check in METHOD_CHECKS:
        run(check, cls)


def test_float32_params_pass_the_method_checks():
    for check in METHOD_CHECKS[:-1]:   # numerical gradients need float64 parameters
        run(check, Float32Net)


class NoStdNet(BookNet):
    def __init__(self, i, h, o, weight_init_std=0.01):
        super().__init__(i, h, o, 1.0)


class UniformNet(BookNet):
    def __init__(self, i, h, o, weight_init_std=0.01):
        super().__init__(i, h, o, weight_init_std)
        self.params['W1'] = weight_init_std * np.random.rand(i, h)
        self.params['W2'] = weight_init_std * np.random.rand(h, o)


class ReluNet(BookNet):
    def predict(self, x):
        a1 = np.dot(x, self.params['W1']) + self.params['b1']
        return book_softmax(np.dot(np.maximum(a1, 0), self.params['W2']) + self.params['b2'])


class NaiveSoftmaxNet(BookNet):
    def output(self, a2):
        return np.exp(a2) / np.sum(np.exp(a2), axis=1, keepdims=True)


class NoSoftmaxNet(BookNet):
    def output(self, a2):
        return a2


class SumLossNet(BookNet):
    def loss(self, x, t):
        return -np.sum(t * np.log(self.predict(x) + 1e-7))


class NoArgmaxAccuracyNet(BookNet):
    def accuracy(self, x, t):
        y = np.argmax(self.predict(x), axis=1)
        return np.sum(y == t) / float(x.shape[0])


class PercentAccuracyNet(BookNet):
    def accuracy(self, x, t):
        return 100 * super().accuracy(x, t)


class CopyGradNet(BookNet):
    def numerical_gradient(self, x, t):
        loss_W = lambda W: self.loss(x, t)  # noqa: E731
        return {k: numerical_gradient(loss_W, self.params[k].copy())
                for k in ('W1', 'b1', 'W2', 'b2')}


@pytest.mark.parametrize("cls,check,hint", [
    (NoStdNet, A4.check_init, "weight_init_std を掛けて"),
    (UniformNet, A4.check_init, "np.random.randn"),
    (ReluNet, A4.check_predict, "ReLU ではありません"),
    (NaiveSoftmaxNet, A4.check_predict, "最大値を引いて"),
    (NoSoftmaxNet, A4.check_predict, "softmax を使って"),
    (SumLossNet, A4.check_loss, "バッチの平均"),
    (NoArgmaxAccuracyNet, A4.check_accuracy, "np.argmax(t, axis=1)"),
    (PercentAccuracyNet, A4.check_accuracy, "100 を掛けない"),
    (CopyGradNet, A4.check_numerical_gradient, "コピーではなく"),
], ids=lambda v: v.__name__ if isinstance(v, type) else None)
def test_wrong_two_layer_net_fails_its_check(cls, check, hint):
    fails(check, cls, hint=hint)
    independent = {A4.check_init: [A4.check_predict, A4.check_loss, A4.check_accuracy,
                                   A4.check_numerical_gradient],
                   A4.check_predict: [A4.check_init],
                   A4.check_loss: [A4.check_init, A4.check_predict, A4.check_accuracy],
                   A4.check_accuracy: [A4.check_init, A4.check_predict, A4.check_loss,
                                       A4.check_numerical_gradient],
                   A4.check_numerical_gradient: [A4.check_init, A4.check_predict,
                                                 A4.check_loss, A4.check_accuracy]}
    for other in independent[check]:
        run(other, cls)


def test_naive_softmax_passes_accuracy_and_init():
    run(A4.check_init, NaiveSoftmaxNet)
    run(A4.check_accuracy, NaiveSoftmaxNet)


def test_naive_softmax_fails_the_loss_check_too():
    # big scores: NaN where the label is the top class (catalogue mutant net_softmax_naive)
    fails(A4.check_loss, NaiveSoftmaxNet, hint="最大値を引いて")


@pytest.mark.slow     # ~9 s: 60 seeds of a4's predict and loss checks (the two above stay fast)
def test_naive_softmax_fails_whatever_the_submission_seed():
    # with a fixed +1000 shift, about 4 % of the seeds kept every score below exp's limit (709)
    # and the naive softmax kept full marks (CI of stop 23: net_softmax_naive)
    try:
        for seed in range(60):
            set_submission_seed(seed * 7919 + 1)
            fails(A4.check_predict, NaiveSoftmaxNet, hint="最大値を引いて")
            fails(A4.check_loss, NaiveSoftmaxNet, hint="最大値を引いて")
            run(A4.check_predict, BookNet)
            run(A4.check_loss, BookNet)
    finally:
        set_submission_seed(None)


def test_wrong_predict_costs_no_accuracy_point():
    # accuracy is measured with the student's own predict (catalogue mutant net_relu)
    run(A4.check_accuracy, ReluNet)
    run(A4.check_accuracy, NoSoftmaxNet)


def test_gradient_check():
    errors = A4_NB["grad_errors"]
    assert all(0 < e < 1e-7 for e in errors.values())
    run(A4.check_gradient_check, errors, A4_NB["TwoLayerNet"])
    run(A4.check_gradient_check, errors, BookNet)
    fails(A4.check_gradient_check, {k: 0.0 for k in errors}, BookNet, hint="同じ勾配")
    fails(A4.check_gradient_check, {"W1": 1e-9}, BookNet, hint="rel_error")
    fails(A4.check_gradient_check, {k: 1e-3 for k in errors}, BookNet, hint="rel_error")
    fails(A4.check_gradient_check, errors, CopyGradNet, hint="numerical_gradient を確認")


def test_method_checks_keep_numpy_random_state():
    np.random.seed(7)
    before = np.random.get_state()[1].copy()
    for check in METHOD_CHECKS:
        run(check, BookNet)
    assert np.array_equal(np.random.get_state()[1], before)


def test_method_checks_cost_two_round_trips_each():
    for check in METHOD_CHECKS:
        assert round_trips(check, BookNet) == 2, check.__name__


class NoParamsNet(BookNet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.weights = self.params
        del self.params


def test_a_net_without_params_is_told_so():
    for check in METHOD_CHECKS:
        fails(check, NoParamsNet, hint="self.params = {}")


# ---------------------------------------------------------------------- the update step
def step_slides(network, x_batch, t_batch, learning_rate):
    """The slides' update, written as the notebook's train_step."""
    grad = network.gradient(x_batch, t_batch)
    for key in ('W1', 'b1', 'W2', 'b2'):
        network.params[key] -= learning_rate * grad[key]


def step_rebind(network, x_batch, t_batch, learning_rate):
    """New arrays (params[key] = params[key] - ...) over grad.items(), the loss returned."""
    for key, g in network.gradient(x_batch, t_batch).items():
        network.params[key] = network.params[key] - learning_rate * g
    return network.loss(x_batch, t_batch)


def step_ascent(network, x_batch, t_batch, learning_rate):
    grad = network.gradient(x_batch, t_batch)
    for key in ('W1', 'b1', 'W2', 'b2'):
        network.params[key] += learning_rate * grad[key]


def step_no_learning_rate(network, x_batch, t_batch, learning_rate):
    grad = network.gradient(x_batch, t_batch)
    for key in ('W1', 'b1', 'W2', 'b2'):
        network.params[key] -= grad[key]


def step_fixed_learning_rate(network, x_batch, t_batch, learning_rate):
    grad = network.gradient(x_batch, t_batch)
    for key in ('W1', 'b1', 'W2', 'b2'):
        network.params[key] -= 0.1 * grad[key]


def step_weights_only(network, x_batch, t_batch, learning_rate):
    grad = network.gradient(x_batch, t_batch)
    for key in ('W1', 'W2'):
        network.params[key] -= learning_rate * grad[key]


def step_copies(network, x_batch, t_batch, learning_rate):
    """Updates copies of the parameters: the network does not change."""
    grad = network.gradient(x_batch, t_batch)
    for key, value in network.params.items():
        value = value.copy()
        value -= learning_rate * grad[key]


def step_not_written(network, x_batch, t_batch, learning_rate):
    raise NotImplementedError()


@pytest.mark.parametrize("step,cls", [(A4_NB["train_step"], A4_NB["TwoLayerNet"]),
                                      (ref.train_step, ref.TwoLayerNet), (step_slides, BookNet),
                                      (step_rebind, Float32Net), (step_rebind, ReluNet)],
                         ids=["notebook", "reference", "slides", "rebind-float32", "relu-net"])
def test_correct_train_step_passes(step, cls):
    # a wrong predict (ReluNet) costs the predict points, not the step's: the update uses
    # the notebook's given gradient, and what train_step returns is not judged
    run(A4.check_train_step, step, cls)


@pytest.mark.parametrize("step,hint", [
    (step_ascent, "勾配の逆向き"),
    (step_no_learning_rate, "学習率を掛けずに"),
    (step_fixed_learning_rate, "引数の learning_rate"),
    (step_weights_only, "バイアス b1 が更新されていません"),
    (step_copies, "パラメータが変わっていません"),
    (step_not_written, "まだ実装されていません"),
], ids=lambda v: v.__name__ if callable(v) else None)
def test_wrong_train_step_fails_with_its_hint(step, hint):
    fails(A4.check_train_step, step, BookNet, hint=hint)


def test_train_step_check_costs_two_round_trips():
    assert round_trips(A4.check_train_step, step_slides, BookNet) == 2


def test_train_step_without_a_working_net_names_two_layer_net():
    msg = fails(A4.check_train_step, step_slides, NoParamsNet, hint="TwoLayerNet のテスト")
    assert "self.params = {}" in msg


def test_train_step_inputs_are_drawn_per_submission():
    """States, mini-batches and learning rates change with the submission's secret seed:
    a train_step that answers from a table recorded in one grading fails the next."""
    from autograders import compare
    recorded = []

    def recording_step(network, x_batch, t_batch, learning_rate):
        step_slides(network, x_batch, t_batch, learning_rate)
        recorded.append({k: v.copy() for k, v in network.params.items()})

    answers = iter([])

    def replaying_step(network, x_batch, t_batch, learning_rate):
        network.params.update(next(answers))

    try:
        compare.set_submission_seed(1234)
        run(A4.check_train_step, recording_step, BookNet)
        answers = iter(list(recorded))
        run(A4.check_train_step, replaying_step, BookNet)       # the same seed: the same inputs
        first = A4._step_inputs(None)[1]
        compare.set_submission_seed(5678)
        second = A4._step_inputs(None)[1]
        answers = iter(list(recorded))
        fails(A4.check_train_step, replaying_step, BookNet, hint="")
    finally:
        compare.set_submission_seed(None)
    for (_, _, p1, b1), (_, _, p2, b2) in zip(first, second):
        assert not np.allclose(p1["W1"], p2["W1"])
        assert [lr for _, _, lr in b1] != [lr for _, _, lr in b2]
        assert not np.array_equal(b1[0][0], b2[0][0])
    assert all(0.2 <= lr <= 0.8 for *_, b in first + second for _, _, lr in b)


# ------------------------------------------------------------------------------- training
@pytest.fixture(scope="module")
def trained():
    """A network briefly trained on MNIST (1000 iterations, about 0.9) and how the grader
    measures it."""
    net = ref.train_mnist(seed=1, iters_num=1000).network
    return net, A4._Measured(net.params)


STEP = (ref.train_step, BookNet)     # a working update step (the training checks require one)


def fake_history(trained, n_iter=10000, n_acc=17):
    """A record that ends where the ``trained`` network is."""
    m = trained[1]
    loss = list(np.linspace(2.3, m.train_loss, n_iter))
    return loss, list(np.linspace(0.1, m.train_acc, n_acc)), list(np.linspace(0.1, m.test_acc, n_acc))


def test_training_history(trained):
    net = trained[0]
    run(A4.check_training_history, *fake_history(trained), net, *STEP)
    loss, acc, test = fake_history(trained)
    run(A4.check_training_history, [np.float32(v) for v in loss], acc, test, net, *STEP)
    fails(A4.check_training_history, *fake_history(trained, n_acc=10000), net, *STEP, hint="すべての繰り返し")
    fails(A4.check_training_history, *fake_history(trained, n_acc=16), net, *STEP, hint="17 個")
    fails(A4.check_training_history, *fake_history(trained, n_iter=17), net, *STEP, hint="毎回 (10000 回)")
    flat = [2.3] * 10000
    fails(A4.check_training_history, flat, acc, test, net, *STEP, hint="更新")
    fails(A4.check_training_history, loss, [100 * a for a in acc], test, net, *STEP,
          hint="100 を掛けない")


def test_a_made_up_history_gains_nothing_without_the_training(trained):
    # a record that looks like the slides' (0.1 -> 0.945, loss 2.3 -> 0.2) next to a network
    # that was not trained to it: the grader measures network.params itself
    untrained = ref.TwoLayerNet(784, 50, 10, seed=0)
    untrained.params["b1"][:] = 0.1
    untrained.params["b2"][:] = 0.1
    acc = list(np.linspace(0.1, 0.945, 17))
    loss = list(np.linspace(2.3, 0.2, 10000))
    msg = fails(A4.check_training_history, loss, acc, acc, untrained, *STEP,
                hint="network.accuracy")
    assert "学習後のネットワークの認識精度と大きく違います" in msg
    # the accuracies copied from the real network, the losses made up: still caught
    net, m = trained
    made_up = list(np.linspace(2.3, 0.05, 10000))
    fails(A4.check_training_history, made_up, *fake_history(trained)[1:], net, *STEP,
          hint="network.loss(x_batch, t_batch)")


def test_a_pasted_network_gains_nothing_without_a_working_step(trained):
    # a network trained elsewhere and a record that ends where it is (accepted next to a
    # working step, above): with the notebook's train_step not written, or stepping the
    # wrong way, neither training check gives its point
    net = trained[0]
    for step in (step_not_written, step_ascent, step_copies):
        msg = fails(A4.check_training_history, *fake_history(trained), net, step, BookNet,
                    hint="上の train_step のテストを通し")
        assert "train_step (問 3) のテストが通っていない" in msg
        fails(A4.check_training_result, net, *fake_history(trained)[1:], step, BookNet,
              hint="上の train_step のテストを通し")


def test_training_result_rejects_biases_never_updated():
    net = ref.TwoLayerNet(784, 50, 10, seed=0)
    net.params["b2"][:] = 0.1
    acc = [0.95] * 17
    fails(A4.check_training_result, net, acc, acc, *STEP, hint="('W1', 'b1', 'W2', 'b2')")


def test_training_result_rejects_an_untrained_network():
    net = ref.TwoLayerNet(784, 50, 10, seed=0)
    net.params["b1"][:] = 0.1
    net.params["b2"][:] = 0.1
    fails(A4.check_training_result, net, [0.95] * 17, [0.95] * 17, *STEP,
          hint="0.94 に届きません")


def test_training_checks_name_what_is_missing():
    student = local_student({"train_step": ref.train_step, "TwoLayerNet": BookNet})
    step = student["train_step"], student["TwoLayerNet"]
    with pytest.raises(CheckFailed) as exc:
        A4.check_training_result(student["network"], student["a"], student["b"], *step)
    assert "network が定義されていません" in str(exc.value)
    with pytest.raises(CheckFailed) as exc:
        A4.check_training_history(student["train_loss_list"], student["a"], student["b"],
                                  student["network"], *step)
    assert "train_loss_list が定義されていません" in str(exc.value)
    student = local_student({"network": object(), "train_step": ref.train_step,
                             "TwoLayerNet": BookNet})
    with pytest.raises(CheckFailed) as exc:
        A4.check_training_result(student["network"], student["a"], student["b"],
                                 student["train_step"], student["TwoLayerNet"])
    assert "network という名前に" in str(exc.value)


@pytest.mark.slow
def test_training_result_on_a_real_run():
    r = ref.train_mnist(seed=1)
    run(A4.check_training_history, r.train_loss_list, r.train_acc_list, r.test_acc_list, r.network,
        *STEP)
    run(A4.check_training_result, r.network, r.train_acc_list, r.test_acc_list, *STEP)
    fails(A4.check_training_result, r.network, r.train_acc_list, [0.5] * 17, *STEP,
          hint="network.accuracy")
    # the same trained network and record, pasted next to a train_step that does not work
    # (not written, or stepping up the gradient): no training point
    for step in (step_not_written, step_ascent):
        for check, args in ((A4.check_training_history, (r.train_loss_list, r.train_acc_list,
                                                          r.test_acc_list, r.network)),
                            (A4.check_training_result, (r.network, r.train_acc_list,
                                                        r.test_acc_list))):
            fails(check, *args, step, BookNet, hint="上の train_step のテストを通し")
