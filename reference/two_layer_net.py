"""TwoLayerNet (2層ニューラルネット): affine -> sigmoid -> affine -> softmax."""
import numpy as np

from .activations import sigmoid, softmax
from .differentiation import numerical_gradient
from .losses import DELTA, cross_entropy_error

PARAM_KEYS = ("W1", "b1", "W2", "b2")


class TwoLayerNet:
    """input_size -> hidden_size (sigmoid) -> output_size (softmax).

    params: W1 (input_size, hidden_size), b1 (hidden_size,),
            W2 (hidden_size, output_size), b2 (output_size,).
    Weights start as weight_init_std * N(0, 1) from ``np.random.default_rng(seed)``, biases at 0.
    ``dtype`` float64 (default) for exact gradient checks, float32 for fast training.
    """

    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01,
                 seed=None, dtype=np.float64):
        rng = np.random.default_rng(seed)
        self.params = {
            "W1": (weight_init_std * rng.standard_normal((input_size, hidden_size))).astype(dtype),
            "b1": np.zeros(hidden_size, dtype=dtype),
            "W2": (weight_init_std * rng.standard_normal((hidden_size, output_size))).astype(dtype),
            "b2": np.zeros(output_size, dtype=dtype),
        }

    def predict(self, x):
        """x (N, input_size) -> class probabilities y (N, output_size)."""
        return softmax(self._logits(x))

    def _logits(self, x):
        """x (N, input_size) -> scores before softmax (N, output_size)."""
        p = self.params
        z1 = sigmoid(np.dot(x, p["W1"]) + p["b1"])
        return np.dot(z1, p["W2"]) + p["b2"]

    def loss(self, x, t):
        """Cross-entropy error of predict(x); t one-hot (N, K) or labels (N,)."""
        return cross_entropy_error(self.predict(x), t)

    def accuracy(self, x, t):
        """Fraction of rows whose arg-max prediction equals the label (t one-hot or labels)."""
        y = np.argmax(self._logits(x), axis=1)   # softmax keeps the order: skip it
        if np.ndim(t) != 1:
            t = np.argmax(t, axis=1)
        return float(np.sum(y == t)) / x.shape[0]

    def numerical_gradient(self, x, t):
        """Gradients of the loss by central differences: dict of arrays shaped like params (slow)."""
        loss_W = lambda W: self.loss(x, t)  # noqa: E731 -- W is changed in place by numerical_gradient
        return {key: numerical_gradient(loss_W, self.params[key]) for key in PARAM_KEYS}

    def gradient(self, x, t):
        """Gradients of the loss by backpropagation (the fast version): dict like params."""
        return self.loss_and_gradient(x, t)[1]

    def loss_and_gradient(self, x, t):
        """One forward and one backward pass: (loss before any update, grads)."""
        p = self.params
        batch_num = x.shape[0]
        a1 = np.dot(x, p["W1"]) + p["b1"]
        z1 = sigmoid(a1)
        y = softmax(np.dot(z1, p["W2"]) + p["b2"])
        # d loss / d logits.  With delta inside the log the exact derivative is
        # (y - t) * r, r = y_c / (y_c + delta) for the correct class c; the book's code drops
        # r (~1 - 1e-6), which is why its gradient check stalls near a relative error of 1e-6.
        if np.ndim(t) == 1:                          # label indices: no one-hot needed
            rows = np.arange(batch_num)
            t = np.asarray(t, dtype=np.intp)
            y_c = y[rows, t]
            loss = -np.mean(np.log(y_c + DELTA))
            r = y_c / (y_c + DELTA)
            dy = y * r[:, None]
            dy[rows, t] -= r
        else:                                        # one-hot (or soft) targets
            loss = -np.sum(t * np.log(y + DELTA)) / batch_num
            w = t * y / (y + DELTA)
            dy = y * w.sum(axis=1, keepdims=True) - w
        dy /= batch_num                              # (N, K)
        dz1 = np.dot(dy, p["W2"].T)                 # (N, H)
        da1 = dz1 * z1 * (1 - z1)                   # sigmoid'(a1) = z1 (1 - z1)
        grads = {"W1": np.dot(x.T, da1), "b1": da1.sum(axis=0),
                 "W2": np.dot(z1.T, dy), "b2": dy.sum(axis=0)}
        return loss, grads

    def __repr__(self):
        shapes = ", ".join(f"{k}={self.params[k].shape}" for k in PARAM_KEYS)
        return f"TwoLayerNet({shapes}, dtype={self.params['W1'].dtype})"
