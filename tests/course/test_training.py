"""The slides' mini-batch training of TwoLayerNet on real MNIST reaches the lecture's accuracy."""
import numpy as np
import pytest

import course_config
from reference import plot_learning_curve, train_mnist, train_two_layer_net


@pytest.fixture(scope="module")
def lecture_run():
    return train_mnist(seed=0)


@pytest.mark.slow
def test_lecture_training_reaches_the_lectures_accuracy(lecture_run):
    r = lecture_run
    assert len(r.train_loss_list) == 10000
    assert len(r.train_acc_list) == len(r.test_acc_list) == 17     # i = 0, 600, ..., 9600
    assert r.test_acc_list[0] < 0.2                                # untrained: chance level
    assert r.test_acc_list[-1] >= course_config.MIN_TEST_ACCURACY
    assert abs(r.train_acc_list[-1] - r.test_acc_list[-1]) < course_config.MAX_TRAIN_TEST_GAP
    assert np.mean(r.train_loss_list[-100:]) < 0.5 * np.mean(r.train_loss_list[:100])


@pytest.mark.slow
def test_lecture_training_is_reproducible_for_a_seed(lecture_run):
    again = train_mnist(seed=0)
    assert again.test_acc_list == lecture_run.test_acc_list
    assert again.train_loss_list == lecture_run.train_loss_list
    for key, value in lecture_run.network.params.items():
        assert np.array_equal(again.network.params[key], value)


@pytest.mark.slow     # ~10 s of training (the fast subset trains in test_autograders_a3_a4.py)
def test_short_training_on_a_subset_learns_and_plots(tmp_path):
    from reference import load_mnist
    (x_train, t_train), (x_test, t_test) = load_mnist(one_hot_label=True, verbose=False)
    r = train_two_layer_net(x_train[:6000], t_train[:6000], x_test[:1000], t_test[:1000],
                            iters_num=600, seed=1)
    assert len(r.test_acc_list) == 10 and r.iter_per_epoch == 60
    assert r.test_acc_list[-1] > r.test_acc_list[0] + 0.4       # it learns (from ~0.1)
    other = train_two_layer_net(x_train[:6000], t_train[:6000], x_test[:1000], t_test[:1000],
                                iters_num=600, seed=2)
    assert other.train_loss_list != r.train_loss_list              # the seed matters
    png = tmp_path / "curve.png"
    plot_learning_curve(r.train_acc_list, r.test_acc_list, path=png)
    assert png.stat().st_size > 5000


@pytest.mark.slow     # ~2 s: two short runs on the full training set
def test_each_epochs_accuracy_is_of_the_network_at_its_iteration():
    """The accuracies are computed on a second thread while the training goes on: each must
    be that of the parameters at its own iteration (i = 0, 600, ...), not of later ones."""
    from reference import load_mnist
    (x_train, t_train), (x_test, t_test) = load_mnist(dtype=np.float32, verbose=False)
    one_epoch = train_two_layer_net(x_train, t_train, x_test, t_test, iters_num=600, seed=3)
    two_epochs = train_two_layer_net(x_train, t_train, x_test, t_test, iters_num=1200, seed=3)
    assert two_epochs.train_loss_list[:600] == one_epoch.train_loss_list   # same first epoch
    # i = 600 is measured before its update, while 600 more updates run beside it
    assert two_epochs.train_acc_list[1] == one_epoch.network.accuracy(x_train, t_train)
    assert two_epochs.test_acc_list[1] == one_epoch.network.accuracy(x_test, t_test)
    assert two_epochs.test_acc_list[1] != two_epochs.network.accuracy(x_test, t_test)
    assert two_epochs.test_acc_list[0] == one_epoch.test_acc_list[0] < 0.2
