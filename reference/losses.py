"""Loss functions (損失関数): sum-squared error and cross-entropy error.

The slides call the second one ``cross_enthropy_error`` (a typo); the correct spelling is
used here, with the misspelt name kept as an alias so the slides' code still runs.
"""
import numpy as np

DELTA = 1e-7  # added inside the log so that y = 0 gives a large but finite loss, not inf


def sum_squared_error(y, t):
    """E = 1/2 * sum_k (y_k - t_k)^2.  ``y``, ``t``: arrays of the same shape, e.g. (10,)."""
    y = np.asarray(y, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    return 0.5 * np.sum((y - t) ** 2)


def cross_entropy_error(y, t):
    """E = -1/N * sum_n sum_k t_nk * log(y_nk + delta), averaged over the mini-batch.

    y: (K,) one sample or (N, K) a batch of probabilities (softmax output).
    t: one-hot targets of the same shape as y, or label indices: a scalar / (1,) for one
       sample, (N,) for a batch.

    Fixes two bugs of the slides' batch version: ``y.shape(0)`` (a tuple is not callable:
    ``y.shape[0]``) and the missing division by the batch size.
    """
    y = np.asarray(y, dtype=np.float64)
    t = np.asarray(t)
    if y.ndim == 1:                       # one sample -> a batch of one
        y = y.reshape(1, y.size)
        t = t.reshape(1, t.size)
    batch_size = y.shape[0]
    if t.size == y.size:                  # one-hot targets
        return -np.sum(t * np.log(y + DELTA)) / batch_size
    t = t.reshape(batch_size).astype(np.intp)   # label indices
    return -np.sum(np.log(y[np.arange(batch_size), t] + DELTA)) / batch_size


cross_enthropy_error = cross_entropy_error  # the slides' spelling
