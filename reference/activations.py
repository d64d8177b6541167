"""Activation functions of the lecture: sigmoid (hidden layer) and softmax (output layer)."""
import numpy as np


def sigmoid(x):
    """Logistic sigmoid 1 / (1 + exp(-x)), element-wise; any shape in, same shape out.

    For very negative x, exp(-x) overflows to inf and the result is the correct limit 0;
    that overflow is expected, so its warning is silenced.
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    with np.errstate(over="ignore"):
        e = np.exp(-x)
    e += 1
    return np.reciprocal(e, out=e)


def softmax(x):
    """Softmax over the last axis: (K,) -> (K,) for one sample, (N, K) -> (N, K) for a batch.

    The row maximum is subtracted first, so logits like 1000 neither overflow nor give NaN.
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
