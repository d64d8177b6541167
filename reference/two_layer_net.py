"""TwoLayerNet (2層ニューラルネット): affine -> sigmoid -> affine -> softmax."""
import numpy as np

from .activations import sigmoid_, softmax_
from .differentiation import numerical_gradient
from .losses import DELTA, cross_entropy_error

PARAM_KEYS = ("W1", "b1", "W2", "b2")
ACCURACY_CHUNK = 1000   # rows per block in accuracy(): its arrays stay in the CPU cache


class PassBuffers:
    """The arrays of one forward and backward pass of a network with ``params`` on batches
    shaped like ``x`` and ``t``, made once and filled in place by
    ``loss_and_gradient_into``: a training loop that reuses them allocates
    nothing per mini-batch.  ``grads`` holds the last pass's gradients.  The dtypes are the
    ones NumPy gives each step of the pass (float32 for float32 images, params and labels;
    float64 from d loss / d logits on for float64 one-hot targets)."""

    def __init__(self, params, x, t):
        (d, h), k, n = params["W1"].shape, params["W2"].shape[1], x.shape[0]
        forward = np.result_type(x, *params.values())
        backward = np.result_type(forward, *([t] if np.ndim(t) != 1 else []))  # one-hot t
        self.row_starts, self.flat = np.arange(0, n * k, k), np.empty(n, np.intp)
        self.z1, self.y = np.empty((n, h), forward), np.empty((n, k), forward)
        self.dy = self.y if backward == forward else np.empty((n, k), backward)
        self.y_flat, self.dy_flat = self.y.reshape(-1), self.dy.reshape(-1)   # views
        self.dz1, self.tmp = np.empty((n, h), backward), np.empty((n, h), backward)
        self.grads = {"W1": np.empty((d, h), backward), "b1": np.empty(h, backward),
                      "W2": np.empty((h, k), backward), "b2": np.empty(k, backward)}


def class_indices(t, n_classes):
    """Labels ``t`` (N,) as intp indices in 0..n_classes-1, read as ``y[rows, t]`` reads
    intp labels (negative ones from the end); IndexError for labels out of range.
    ``loss_and_gradient_into`` expects labels made by it."""
    return np.arange(n_classes)[np.asarray(t).astype(np.intp, copy=False)]


def logits(params, x, z1=None, out=None):
    """x (N, input_size) -> scores before softmax (N, output_size) of the net with
    ``params``, in ``out`` if given (``z1``: room for the hidden layer, (N, hidden_size))."""
    z1 = sigmoid_(np.add(np.matmul(x, params["W1"], out=z1), params["b1"], out=z1))
    return np.add(np.matmul(z1, params["W2"], out=out), params["b2"], out=out)


def loss_and_gradient_into(params, x, t, buf):
    """One forward and one backward pass of the net with ``params`` in ``buf``'s arrays
    (PassBuffers made for batches like x and t): returns the loss before any update; the
    gradients are in ``buf.grads``."""
    batch_num = x.shape[0]
    z1 = buf.z1
    y = softmax_(logits(params, x, z1, buf.y))
    # d loss / d logits.  With delta inside the log the exact derivative is
    # (y - t) * r, r = y_c / (y_c + delta) for the correct class c; the book's code drops
    # r (~1 - 1e-6), which is why its gradient check stalls near a relative error of 1e-6.
    dy = buf.dy                                  # y's own array when of the same dtype
    if np.ndim(t) == 1:                          # labels (class_indices): no one-hot needed
        flat = np.add(buf.row_starts, t, out=buf.flat)   # y[rows, t] is y_flat[flat]
        y_c = buf.y_flat.take(flat)
        y_cd = y_c + DELTA
        r = np.divide(y_c, y_cd, out=y_c)
        loss = -(np.log(y_cd, out=y_cd).sum() / batch_num)      # the mean
        np.multiply(y, r[:, None], out=dy)
        buf.dy_flat[flat] -= r
    else:                                        # one-hot (or soft) targets
        loss = -np.sum(t * np.log(y + DELTA)) / batch_num
        w = t * y / (y + DELTA)
        np.multiply(y, w.sum(axis=1, keepdims=True), out=dy)
        dy -= w
    dy /= batch_num                              # (N, K)
    da1 = np.matmul(dy, params["W2"].T, out=buf.dz1)   # dz1 (N, H), then da1 in its array
    da1 *= z1
    da1 *= np.subtract(1, z1, out=buf.tmp)       # sigmoid'(a1) = z1 (1 - z1)
    g = buf.grads
    np.matmul(x.T, da1, out=g["W1"])
    np.sum(da1, axis=0, out=g["b1"])
    np.matmul(z1.T, dy, out=g["W2"])
    np.sum(dy, axis=0, out=g["b2"])
    return loss


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
        return softmax_(logits(self.params, x))

    def loss(self, x, t):
        """Cross-entropy error of predict(x); t one-hot (N, K) or labels (N,)."""
        return cross_entropy_error(self.predict(x), t)

    def accuracy(self, x, t):
        """Fraction of rows whose arg-max prediction equals the label (t one-hot or labels).

        Computed ``ACCURACY_CHUNK`` rows at a time in reused arrays: no (N, hidden_size)
        temporaries for the full training set."""
        x = np.asarray(x)
        t = np.argmax(t, axis=1) if np.ndim(t) != 1 else np.asarray(t)
        n, p = x.shape[0], self.params
        m = max(min(n, ACCURACY_CHUNK), 1)
        dtype = np.result_type(x, *p.values())
        z1, scores = np.empty((m, p["W1"].shape[1]), dtype), np.empty((m, p["W2"].shape[1]), dtype)
        predicted, correct = np.empty(m, np.intp), 0
        for s in range(0, n, m):
            k = min(m, n - s)
            a = logits(p, x[s:s + k], z1[:k], scores[:k])
            np.argmax(a, axis=1, out=predicted[:k])   # softmax keeps the order: skip it
            correct += np.count_nonzero(predicted[:k] == t[s:s + k])
        return correct / n

    def numerical_gradient(self, x, t):
        """Gradients of the loss by central differences: dict of arrays shaped like params (slow)."""
        loss_W = lambda W: self.loss(x, t)  # noqa: E731 -- W is changed in place by numerical_gradient
        return {key: numerical_gradient(loss_W, self.params[key]) for key in PARAM_KEYS}

    def gradient(self, x, t):
        """Gradients of the loss by backpropagation (the fast version): dict like params."""
        return self.loss_and_gradient(x, t)[1]

    def loss_and_gradient(self, x, t):
        """One forward and one backward pass: (loss before any update, grads)."""
        x, t = np.asarray(x), np.asarray(t)
        if t.ndim == 1:
            t = class_indices(t, self.params["W2"].shape[1])
        buf = PassBuffers(self.params, x, t)
        return loss_and_gradient_into(self.params, x, t, buf), buf.grads

    def __repr__(self):
        shapes = ", ".join(f"{k}={self.params[k].shape}" for k in PARAM_KEYS)
        return f"TwoLayerNet({shapes}, dtype={self.params['W1'].dtype})"
