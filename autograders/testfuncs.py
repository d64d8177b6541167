"""Public test functions: what the hidden checks hand to the student's code as callbacks.

Public, not secret: this file is copied into every grading kernel (``nncourse/kernel/
sandbox.py``), where a check's ``Public("function_2")`` argument becomes this module's
``function_2``; the grader calls the same functions for its hints.  Only the standard
library and NumPy; each function is a plain ``f(x)`` as the lecture's numerical
differentiation expects.
"""
import numpy as np


def function_2(x):
    """The slides' f(x0, x1) = x0² + x1² (any length)."""
    return np.sum(x ** 2)


# --- a2_gradient ----------------------------------------------------------------------------
# numerical_diff: one-variable functions (the first two are the slides' partial derivatives)
def diff_tmp1(x):
    """f(x) = x**2 + 4.0**2 (function_tmp1: x1 fixed at 4.0)."""
    return x * x + 4.0 ** 2


def diff_tmp2(x):
    """f(x) = 3.0**2 + x**2 (function_tmp2: x0 fixed at 3.0)."""
    return 3.0 ** 2 + x * x


def diff_quadratic(x):
    """f(x) = 0.01*x**2 + 0.1*x (the slides' function_1)."""
    return 0.01 * x ** 2 + 0.1 * x


def diff_square(x):
    """f(x) = x**2."""
    return x ** 2


def diff_cube(x):
    """f(x) = x**3."""
    return x ** 3


def diff_sin(x):
    """f(x) = np.sin(x)."""
    return np.sin(x)


def diff_exp(x):
    """f(x) = np.exp(x)."""
    return np.exp(x)


def diff_reciprocal(x):
    """f(x) = 1 / x."""
    return 1 / x


# numerical_gradient: f(x) of a vector or matrix x that reads every element
def grad_logsumexp(x):
    """f(x) = log(Σ exp(x)) (non-separable), computed stably."""
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def grad_product_sin(x):
    """f(x) = x[0] * x[1] * x[2] + np.sum(np.sin(x)) (x of length 3)."""
    return x[0] * x[1] * x[2] + np.sum(np.sin(x))


SIMPLE_NET_X = np.array([0.6, 0.9])        # the slides' simpleNet input ...
SIMPLE_NET_T = np.array([0, 0, 1])         # ... and one-hot label


def grad_simple_net_loss(W):
    """f(W) = cross-entropy of softmax(x @ W) against t, like the slides' simpleNet (W (2, 3))."""
    a = np.dot(SIMPLE_NET_X, W)
    e = np.exp(a - a.max())
    y = e / e.sum()
    return -np.sum(SIMPLE_NET_T * np.log(y + 1e-7))


TANH_C = np.array([[1.0531157544867582, 1.776491303816993],        # np.random.default_rng(6)
                   [-2.5532918384570134, -0.13796506137840808],    # .normal(size=(3, 2))
                   [1.0137194090532766, 1.3521418253819912]])


def grad_tanh_weighted(W):
    """f(W) = np.sum(C * np.tanh(W)) with the fixed C = TANH_C (W (3, 2))."""
    return np.sum(TANH_C * np.tanh(W))



# --- a3_gradient_descent ----------------------------------------------------------------------
def gd_bowl(x):
    """An elongated bowl with its minimum at (1, -2): (x0 - 1)² + 2 (x1 + 2)²."""
    return (x[0] - 1.0) ** 2 + 2.0 * (x[1] + 2.0) ** 2


def gd_tilted(x):
    """A 3-D quadratic with a cross term: Σ x² + x0 x1."""
    return np.sum(x ** 2) + x[0] * x[1]



# --- a4_two_layer_net -------------------------------------------------------------------------
