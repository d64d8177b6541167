"""Activation functions of the lecture: sigmoid (hidden layer) and softmax (output layer).

``sigmoid_`` and ``softmax_`` compute the same in place, for the training loop (no new
arrays per mini-batch); ``sigmoid`` and ``softmax`` apply them to a fresh float copy.
"""
import numpy as np


def _float_copy(x):
    x = np.asarray(x)
    return np.array(x, dtype=x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64)


def sigmoid_(a):
    """In place: ``a`` (a float array) becomes 1 / (1 + exp(-a)); returns ``a``.

    For very negative a, exp(-a) overflows to inf and the result is the correct limit 0;
    that overflow is expected, so its warning is silenced.
    """
    np.negative(a, out=a)
    with np.errstate(over="ignore"):
        np.exp(a, out=a)
    a += 1
    return np.reciprocal(a, out=a)


def softmax_(a):
    """In place: softmax of the float array ``a`` over its last axis; returns ``a``.

    The row maximum is subtracted first, so logits like 1000 neither overflow nor give NaN.
    """
    a -= a.max(axis=-1, keepdims=True)
    np.exp(a, out=a)
    a /= a.sum(axis=-1, keepdims=True)
    return a


def sigmoid(x):
    """Logistic sigmoid 1 / (1 + exp(-x)), element-wise; any shape in, same shape out."""
    return sigmoid_(_float_copy(x))


def softmax(x):
    """Softmax over the last axis: (K,) -> (K,) for one sample, (N, K) -> (N, K) for a batch.

    The row maximum is subtracted first, so logits like 1000 neither overflow nor give NaN.
    """
    return softmax_(_float_copy(x))
