"""Reference NumPy implementation of the lecture 「データから学習する」.

Every answer the hidden tests accept is compared with these functions.
"""
from .activations import sigmoid, softmax
from .differentiation import numerical_diff, numerical_gradient
from .gradient_descent import gradient_descent
from .losses import cross_entropy_error, cross_enthropy_error, sum_squared_error
from .mnist import load_mnist
from .simple_net import SimpleNet
from .training import (TrainingResult, plot_learning_curve, train_mnist, train_step,
                       train_two_layer_net)
from .two_layer_net import TwoLayerNet

__all__ = [
    "sigmoid", "softmax", "sum_squared_error", "cross_entropy_error", "cross_enthropy_error",
    "numerical_diff", "numerical_gradient", "gradient_descent", "SimpleNet", "TwoLayerNet",
    "load_mnist", "train_step", "train_two_layer_net", "train_mnist", "TrainingResult",
    "plot_learning_curve",
]
