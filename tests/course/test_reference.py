"""The reference implementation against the lecture's values and analytic results."""
import numpy as np
import pytest

from reference import (SimpleNet, TwoLayerNet, cross_entropy_error, cross_enthropy_error,
                       gradient_descent, numerical_diff, numerical_gradient, sigmoid, softmax,
                       sum_squared_error, train_step)

T = np.array([0, 0, 1, 0, 0])                       # the slides' one-hot target
Y1 = np.array([0.1, 0.05, 0.6, 0.0, 0.1])           # close to the target
Y2 = np.array([0.1, 0.05, 0.1, 0.0, 0.1])           # far from it


def test_sum_squared_error_slides_values():
    assert sum_squared_error(Y1, T) == pytest.approx(0.09125, abs=1e-15)
    assert sum_squared_error(Y2, T) == pytest.approx(0.41625, abs=1e-15)


def test_cross_entropy_error_one_sample_and_delta():
    assert cross_entropy_error(Y1, T) == pytest.approx(-np.log(0.6 + 1e-7))
    # y = 0 at the correct class: large but finite thanks to delta
    assert cross_entropy_error(np.array([1.0, 0.0]), np.array([0, 1])) == \
        pytest.approx(-np.log(1e-7))
    assert cross_enthropy_error is cross_entropy_error


def test_cross_entropy_error_batch_is_averaged_and_accepts_labels():
    y = np.array([Y1, Y2])
    t_onehot = np.array([T, T])
    expected = (-np.log(0.6 + 1e-7) - np.log(0.1 + 1e-7)) / 2
    assert cross_entropy_error(y, t_onehot) == pytest.approx(expected)
    assert cross_entropy_error(y, np.array([2, 2])) == pytest.approx(expected)
    assert cross_entropy_error(Y1, 2) == pytest.approx(-np.log(0.6 + 1e-7))


def test_softmax_is_stable_for_large_logits():
    with np.errstate(all="raise"):
        y = softmax(np.array([1010.0, 1000.0, 990.0]))
        yb = softmax(np.array([[1010.0, 1000.0, 990.0], [0.3, 2.9, 4.0]]))
    assert np.isfinite(y).all() and y.sum() == pytest.approx(1.0)
    assert np.allclose(yb.sum(axis=1), 1.0)
    assert np.allclose(yb[1], np.exp([0.3, 2.9, 4.0]) / np.exp([0.3, 2.9, 4.0]).sum())


def test_sigmoid_values_and_no_warning():
    with np.errstate(invalid="raise", divide="raise"):
        s = sigmoid(np.array([-1000.0, -20.0, 0.0, 20.0, 1000.0]))
    assert s[2] == 0.5 and s[0] == 0.0 and s[-1] == 1.0
    assert s[1] == pytest.approx(1 / (1 + np.exp(20.0)), rel=1e-12)


def function_tmp1(x0):
    return x0 * x0 + 4.0 ** 2.0


def function_tmp2(x1):
    return 3.0 ** 2.0 + x1 * x1


def test_numerical_diff_slides_values():
    assert abs(numerical_diff(function_tmp1, 3.0) - 6.00000000000378) < 1e-12
    assert abs(numerical_diff(function_tmp2, 4.0) - 7.999999999999119) < 1e-12


def function_2(x):
    return np.sum(x ** 2)


def test_numerical_gradient_vector_and_x_unchanged():
    x = np.array([3.0, 4.0])
    before = x.copy()
    grad = numerical_gradient(function_2, x)
    assert np.allclose(grad, [6.0, 8.0], atol=1e-6)
    assert np.array_equal(x, before)
    assert np.allclose(numerical_gradient(function_2, np.array([0.0, 2.0])), [0.0, 4.0], atol=1e-6)


def test_numerical_gradient_on_a_matrix_matches_analytic():
    rng = np.random.default_rng(1)
    W = rng.standard_normal((2, 3))
    A = rng.standard_normal((2, 3))
    f = lambda M: np.sum(np.sin(M) * A)  # noqa: E731  analytic gradient: cos(M) * A
    before = W.copy()
    assert np.allclose(numerical_gradient(f, W), np.cos(W) * A, atol=1e-7)
    assert np.array_equal(W, before)


def test_numerical_gradient_refuses_integers():
    with pytest.raises(TypeError, match="float"):
        numerical_gradient(function_2, np.array([3, 4]))


def test_gradient_descent_converges_and_keeps_init_x():
    init_x = np.array([-3.0, 4.0])
    x, history = gradient_descent(function_2, init_x, lr=0.1, step_num=100)
    assert np.linalg.norm(x) < 1e-8
    assert history.shape == (100, 2) and np.array_equal(history[0], [-3.0, 4.0])
    assert np.array_equal(init_x, [-3.0, 4.0])          # the slides' version mutates it


def test_gradient_descent_learning_rate_too_large_or_too_small():
    x_big, _ = gradient_descent(function_2, np.array([-3.0, 4.0]), lr=10.0, step_num=100)
    assert not np.all(np.isfinite(x_big)) or np.linalg.norm(x_big) > 1e10   # diverges
    x_small, _ = gradient_descent(function_2, np.array([-3.0, 4.0]), lr=1e-10, step_num=100)
    assert np.allclose(x_small, [-3.0, 4.0], atol=1e-6)                    # barely moves
    assert not np.array_equal(x_small, [-3.0, 4.0])


def test_gradient_descent_accepts_integer_init_x():
    x, _ = gradient_descent(function_2, np.array([-3, 4]), lr=0.1, step_num=100)
    assert np.linalg.norm(x) < 1e-8


def test_simple_net_gradient_shape_and_value():
    net = SimpleNet(W=[[0.47355232, 0.9977393, 0.84668094],
                       [0.85557411, 0.03563661, 0.69422093]])
    x = np.array([0.6, 0.9])
    t = np.array([0, 0, 1])
    dW = net.numerical_gradient(x, t)
    y = softmax(net.predict(x))
    assert dW.shape == (2, 3)
    assert np.allclose(dW, np.outer(x, y - t), atol=1e-7)    # analytic: x^T (y - t)


def rel_error(a, b):
    """||a - b|| / (||a|| + ||b||): the relative error of a whole gradient array."""
    return np.linalg.norm(a - b) / max(1e-12, np.linalg.norm(a) + np.linalg.norm(b))


@pytest.mark.parametrize("sizes", [(4, 5, 3), (6, 3, 4)])
@pytest.mark.parametrize("onehot", [True, False])
def test_two_layer_net_backprop_matches_numerical_gradient(sizes, onehot):
    rng = np.random.default_rng(sum(sizes))
    net = TwoLayerNet(*sizes, weight_init_std=0.1, seed=3)
    for key in ("b1", "b2"):                                # non-zero biases: test them too
        net.params[key] += 0.1 * rng.standard_normal(net.params[key].shape)
    x = rng.random((7, sizes[0]))                           # pixel-like inputs in [0, 1)
    labels = rng.integers(0, sizes[2], 7)
    t = np.eye(sizes[2])[labels] if onehot else labels
    num = net.numerical_gradient(x, t)
    back = net.gradient(x, t)
    for key in ("W1", "b1", "W2", "b2"):
        assert back[key].shape == net.params[key].shape
        assert rel_error(num[key], back[key]) < 1e-7, key


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_train_step_moves_every_parameter_against_the_gradient(dtype):
    """The reference's step, which a4's hidden check compares students' train_step with:
    params -= learning_rate * grad for all four, in place, dtype kept; returns the
    mini-batch loss before the update, and the loss goes down."""
    rng = np.random.default_rng(5)
    net = TwoLayerNet(6, 5, 4, weight_init_std=0.5, seed=5, dtype=dtype)
    x = rng.random((8, 6)).astype(dtype)
    t = np.eye(4, dtype=dtype)[rng.integers(0, 4, 8)]
    before = {k: v.copy() for k, v in net.params.items()}
    arrays = {k: id(v) for k, v in net.params.items()}
    loss_before, grad = net.loss(x, t), net.gradient(x, t)
    loss = train_step(net, x, t, 0.3)
    assert loss == pytest.approx(loss_before, rel=1e-5)
    for key in ("W1", "b1", "W2", "b2"):
        assert id(net.params[key]) == arrays[key] and net.params[key].dtype == dtype
        assert np.allclose(net.params[key], before[key] - 0.3 * grad[key], rtol=1e-5, atol=1e-7)
        assert not np.allclose(net.params[key], before[key])
    assert net.loss(x, t) < loss_before


def test_two_layer_net_init_predict_accuracy():
    net = TwoLayerNet(784, 50, 10, seed=0)
    assert net.params["W1"].shape == (784, 50) and net.params["b2"].shape == (10,)
    assert net.params["W1"].std() == pytest.approx(0.01, rel=0.05)
    assert not net.params["b1"].any()
    x = np.random.default_rng(0).random((20, 784))
    y = net.predict(x)
    assert y.shape == (20, 10) and np.allclose(y.sum(axis=1), 1.0)
    labels = np.argmax(y, axis=1)
    assert net.accuracy(x, labels) == 1.0
    assert net.accuracy(x, np.eye(10)[labels]) == 1.0
    assert np.array_equal(TwoLayerNet(784, 50, 10, seed=0).params["W1"], net.params["W1"])


def test_public_names_importable_from_package_top():
    import reference
    for name in ("sum_squared_error", "cross_entropy_error", "sigmoid", "softmax",
                 "numerical_diff", "numerical_gradient", "gradient_descent", "SimpleNet",
                 "TwoLayerNet", "load_mnist", "train_mnist", "train_step", "train_two_layer_net",
                 "plot_learning_curve"):
        assert callable(getattr(reference, name)), name
        assert getattr(reference, name).__doc__, name
