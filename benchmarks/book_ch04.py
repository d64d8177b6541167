"""The book's training, for comparison: 『ゼロから作るDeep Learning』 ch04/train_neuralnet.py
with ch04/two_layer_net.py and common/functions.py (oreilly-japan/deep-learning-from-scratch,
MIT License, Copyright (c) 2016 Koki Saitoh), copied as they are except: MNIST comes from our
``reference.load_mnist`` in the book's format (x float32 in [0, 1], t one-hot float64), the
per-epoch print and the plot are left out, and the seed is set (``np.random.seed``).

Prints one JSON object: test_acc, train_acc, wall_s (training only), peak_mib.  Run by
``benchmarks/lecture_training.py --vs-book``.
"""
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


# --- common/functions.py (the functions ch04 uses) ---------------------------------------
def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def sigmoid_grad(x):
    return (1.0 - sigmoid(x)) * sigmoid(x)


def softmax(x):
    x = x - np.max(x, axis=-1, keepdims=True)   # オーバーフロー対策
    return np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)


def cross_entropy_error(y, t):
    if y.ndim == 1:
        t = t.reshape(1, t.size)
        y = y.reshape(1, y.size)
    if t.size == y.size:
        t = t.argmax(axis=1)
    batch_size = y.shape[0]
    return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size


# --- ch04/two_layer_net.py (numerical_gradient left out: train_neuralnet.py does not call it)
class TwoLayerNet:

    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01):
        self.params = {}
        self.params['W1'] = weight_init_std * np.random.randn(input_size, hidden_size)
        self.params['b1'] = np.zeros(hidden_size)
        self.params['W2'] = weight_init_std * np.random.randn(hidden_size, output_size)
        self.params['b2'] = np.zeros(output_size)

    def predict(self, x):
        W1, W2 = self.params['W1'], self.params['W2']
        b1, b2 = self.params['b1'], self.params['b2']
        a1 = np.dot(x, W1) + b1
        z1 = sigmoid(a1)
        a2 = np.dot(z1, W2) + b2
        y = softmax(a2)
        return y

    def loss(self, x, t):
        y = self.predict(x)
        return cross_entropy_error(y, t)

    def accuracy(self, x, t):
        y = self.predict(x)
        y = np.argmax(y, axis=1)
        t = np.argmax(t, axis=1)
        accuracy = np.sum(y == t) / float(x.shape[0])
        return accuracy

    def gradient(self, x, t):
        W1, W2 = self.params['W1'], self.params['W2']
        b1, b2 = self.params['b1'], self.params['b2']
        grads = {}
        batch_num = x.shape[0]
        # forward
        a1 = np.dot(x, W1) + b1
        z1 = sigmoid(a1)
        a2 = np.dot(z1, W2) + b2
        y = softmax(a2)
        # backward
        dy = (y - t) / batch_num
        grads['W2'] = np.dot(z1.T, dy)
        grads['b2'] = np.sum(dy, axis=0)
        dz1 = np.dot(dy, W2.T)
        da1 = sigmoid_grad(a1) * dz1
        grads['W1'] = np.dot(x.T, da1)
        grads['b1'] = np.sum(da1, axis=0)
        return grads


# --- ch04/train_neuralnet.py ------------------------------------------------------------
def train(x_train, t_train, x_test, t_test):
    network = TwoLayerNet(input_size=784, hidden_size=50, output_size=10)
    iters_num = 10000
    train_size = x_train.shape[0]
    batch_size = 100
    learning_rate = 0.1
    train_loss_list = []
    train_acc_list = []
    test_acc_list = []
    iter_per_epoch = max(train_size / batch_size, 1)
    for i in range(iters_num):
        batch_mask = np.random.choice(train_size, batch_size)
        x_batch = x_train[batch_mask]
        t_batch = t_train[batch_mask]
        grad = network.gradient(x_batch, t_batch)
        for key in ('W1', 'b1', 'W2', 'b2'):
            network.params[key] -= learning_rate * grad[key]
        loss = network.loss(x_batch, t_batch)
        train_loss_list.append(loss)
        if i % iter_per_epoch == 0:
            train_acc_list.append(network.accuracy(x_train, t_train))
            test_acc_list.append(network.accuracy(x_test, t_test))
    return train_acc_list, test_acc_list


def main():
    from reference import load_mnist
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    (x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=True,
                                                      dtype=np.float32, verbose=False)
    t_train, t_test = t_train.astype(np.float64), t_test.astype(np.float64)  # the book's one-hot
    np.random.seed(seed)
    t0 = time.perf_counter()
    train_acc, test_acc = train(x_train, t_train, x_test, t_test)
    wall_s = time.perf_counter() - t0
    print(json.dumps({"test_acc": float(test_acc[-1]), "train_acc": float(train_acc[-1]),
                      "wall_s": round(wall_s, 3),
                      "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                      "seed": seed}))


if __name__ == "__main__":
    main()
