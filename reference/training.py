"""The slides' mini-batch training (ミニバッチ学習) of TwoLayerNet on MNIST, and its figure."""
import copy
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from .two_layer_net import (PARAM_KEYS, PassBuffers, TwoLayerNet, class_indices,
                            loss_and_gradient_into)


@dataclass
class TrainingResult:
    """Histories of one training run, named as in the slides."""
    network: TwoLayerNet
    train_loss_list: list = field(default_factory=list)   # mini-batch loss, every iteration
    train_acc_list: list = field(default_factory=list)    # full training set, every epoch
    test_acc_list: list = field(default_factory=list)     # full test set, every epoch
    iter_per_epoch: int = 0


def train_step(network, x_batch, t_batch, learning_rate):
    """One step of mini-batch learning (ミニバッチ学習): the gradient of the mini-batch's loss
    (勾配の算出), then every parameter moved against it by ``learning_rate`` (パラメータの
    更新), in place.  Returns the mini-batch loss before the update (from the same forward
    pass as the gradient)."""
    loss, grad = network.loss_and_gradient(x_batch, t_batch)
    sgd_update(network.params, grad, learning_rate)
    return loss


def sgd_update(params, grads, learning_rate):
    """params[key] -= learning_rate * grads[key] for every key, in place, with no new
    array: ``grads`` is overwritten by learning_rate * grads."""
    for key in PARAM_KEYS:
        g = grads[key]
        g *= learning_rate
        params[key] -= g


def train_two_layer_net(x_train, t_train, x_test, t_test, iters_num=10000, batch_size=100,
                        learning_rate=0.1, hidden_size=50, weight_init_std=0.01, seed=0,
                        verbose=False):
    """Train TwoLayerNet(784, hidden_size, 10) with SGD on random mini-batches.

    x_*: (N, 784) float images, t_*: (N,) labels or (N, 10) one-hot.  As in the slides the
    accuracies are measured whenever ``i % iter_per_epoch == 0`` (i = 0, 600, ..., 9600: 17
    times for the defaults).  The loss recorded for iteration i is the mini-batch loss of
    the forward pass that computed the gradient (before the update), which saves the
    slides' second forward pass.  The same seed gives the same result.

    Each step is ``train_step``'s, made in arrays allocated once (the mini-batch is copied
    into one with ``np.take``, the pass fills ``PassBuffers``), and an epoch's mini-batch
    rows are drawn at once: the same numbers as one draw per iteration.

    The accuracies are computed on a second thread, from a copy of the network taken at
    their iteration, while the training goes on: NumPy's matrix products release the GIL,
    so on two cores the 17 evaluations (about a third of the run's arithmetic) overlap the
    mini-batch steps.  The numbers are those of computing them in line.
    """
    rng = np.random.default_rng(seed)
    network = TwoLayerNet(x_train.shape[1], hidden_size, 10, weight_init_std,
                          seed=rng.integers(2**32), dtype=x_train.dtype)
    x_train, t_train = np.asarray(x_train), np.asarray(t_train)
    if t_train.ndim == 1:
        t_train = class_indices(t_train, 10)         # checked and converted once
    train_size = x_train.shape[0]
    iter_per_epoch = max(train_size // batch_size, 1)
    result = TrainingResult(network, iter_per_epoch=iter_per_epoch)
    x_batch = np.empty((batch_size, *x_train.shape[1:]), x_train.dtype)
    t_batch = np.empty((batch_size, *t_train.shape[1:]), t_train.dtype)
    buf = PassBuffers(network.params, x_batch, t_batch)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="accuracy") as evaluator:
        evaluations = []                         # in order: one thread, first in first out
        for i in range(iters_num):
            j = i % iter_per_epoch
            if j == 0:
                evaluations.append(evaluator.submit(epoch_accuracies, copy.deepcopy(network),
                                                    x_train, t_train, x_test, t_test, verbose))
                # with replacement, like np.random.choice
                masks = rng.integers(0, train_size, (min(iter_per_epoch, iters_num - i), batch_size))
            np.take(x_train, masks[j], axis=0, out=x_batch, mode="clip")
            np.take(t_train, masks[j], axis=0, out=t_batch, mode="clip")
            loss = loss_and_gradient_into(network.params, x_batch, t_batch, buf)
            sgd_update(network.params, buf.grads, learning_rate)
            result.train_loss_list.append(float(loss))
        for evaluation in evaluations:
            train_acc, test_acc = evaluation.result()
            result.train_acc_list.append(train_acc)
            result.test_acc_list.append(test_acc)
    return result


def epoch_accuracies(network, x_train, t_train, x_test, t_test, verbose=False):
    """(train acc, test acc) of ``network`` on the full sets, printed if ``verbose``."""
    train_acc, test_acc = network.accuracy(x_train, t_train), network.accuracy(x_test, t_test)
    if verbose:
        print(f"train acc, test acc | {train_acc:.4f}, {test_acc:.4f}", flush=True)
    return train_acc, test_acc


def train_mnist(seed=0, dtype=np.float32, verbose=False, **kwargs):
    """Load real MNIST and run ``train_two_layer_net`` with the slides' hyper-parameters."""
    from .mnist import load_mnist
    (x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=False,
                                                      dtype=dtype, verbose=verbose)
    return train_two_layer_net(x_train, t_train, x_test, t_test, seed=seed, verbose=verbose,
                               **kwargs)


def plot_learning_curve(train_acc_list, test_acc_list, path=None, ax=None):
    """The slides' figure: train and test accuracy against epochs, ylim 0-1; saved if ``path``."""
    import matplotlib
    if path is not None and ax is None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6, 4))
    x = np.arange(len(train_acc_list))
    ax.plot(x, train_acc_list, marker="o", label="train acc")
    ax.plot(x, test_acc_list, marker="s", label="test acc", linestyle="--")
    ax.set_xlabel("epochs")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.0)
    ax.legend(loc="lower right")
    if path is not None:
        fig.savefig(path, dpi=100, bbox_inches="tight")
    return fig
