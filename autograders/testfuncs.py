"""Public test functions: what the hidden checks hand to the student's code as callbacks.

Public, not secret: this file is copied into every grading kernel (``nncourse/grading/
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


# --- a3_gradient_descent ----------------------------------------------------------------------


# --- a4_two_layer_net -------------------------------------------------------------------------
