"""The slides' simple net: one 2x3 weight matrix, for "the gradient with respect to W"."""
import numpy as np

from .activations import softmax
from .differentiation import numerical_gradient
from .losses import cross_entropy_error


class SimpleNet:
    """x (2,) or (N, 2) -> softmax(x @ W); W has shape (2, 3)."""

    def __init__(self, W=None, seed=None):
        self.W = np.array(W, dtype=np.float64) if W is not None else \
            np.random.default_rng(seed).standard_normal((2, 3))

    def predict(self, x):
        """Logits x @ W: (2,) -> (3,), (N, 2) -> (N, 3)."""
        return np.dot(x, self.W)

    def loss(self, x, t):
        """Cross-entropy error of softmax(predict(x)) against t (one-hot or labels)."""
        return cross_entropy_error(softmax(self.predict(x)), t)

    def numerical_gradient(self, x, t):
        """dL/dW, shape (2, 3), by central differences."""
        return numerical_gradient(lambda W: self.loss(x, t), self.W)

    def __repr__(self):
        return f"SimpleNet(W={self.W.tolist()})"
