"""Gradient descent (勾配法): x <- x - lr * grad f(x), repeated ``step_num`` times."""
import numpy as np

from .differentiation import numerical_gradient


def gradient_descent(f, init_x, lr=0.01, step_num=100):
    """Minimise f from ``init_x`` (shape (D,)); returns (x, x_history).

    x: the final point, shape (D,).  x_history: (step_num, D), row i = x before step i, so
    the first row is init_x.  The caller's ``init_x`` is not modified (the slides' version
    aliases it with ``x = init_x`` and then changes it in place with ``x -= ...``).
    """
    x = np.array(init_x, dtype=np.float64)  # a float copy: integers would truncate, aliasing would mutate
    x_history = np.empty((step_num,) + x.shape)
    for i in range(step_num):
        x_history[i] = x
        x -= lr * numerical_gradient(f, x)
    return x, x_history
