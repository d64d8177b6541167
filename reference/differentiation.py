"""Numerical differentiation (数値微分) and the numerical gradient (勾配)."""
import numpy as np

H = 1e-4  # step of the central difference: small, but not so small that rounding dominates


def numerical_diff(f, x):
    """Central difference (f(x+h) - f(x-h)) / 2h of a one-variable function at scalar x."""
    return (f(x + H) - f(x - H)) / (2 * H)


def numerical_gradient(f, x):
    """Gradient of scalar function ``f`` at ``x`` by central differences, one element at a time.

    x: float array of any shape -- a vector (2,) or a weight matrix (2, 3) alike.
    Returns an array of x's shape (float).  ``x`` is changed while f is evaluated (f may
    read it, as ``lambda W: net.loss(x, t)`` does) and restored exactly afterwards.

    The slides' version indexes ``x[idx]`` with ``idx in range(x.size)`` and so only works
    for 1-D x; ``np.nditer`` with multi_index covers every shape.
    """
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        raise TypeError(
            "numerical_gradient needs a float NumPy array: with integers x + h would be "
            f"truncated (got {type(x).__name__} of dtype {getattr(x, 'dtype', None)}); "
            "pass np.array(x, dtype=float)")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        idx = it.multi_index
        tmp_val = x[idx]
        x[idx] = tmp_val + H
        fxh1 = f(x)                    # f(x + h)
        x[idx] = tmp_val - H
        fxh2 = f(x)                    # f(x - h)
        grad[idx] = (fxh1 - fxh2) / (2 * H)
        x[idx] = tmp_val               # restore: x is left exactly as it was
    return grad
