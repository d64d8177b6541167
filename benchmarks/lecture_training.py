"""Benchmark: the slides' full MNIST training with the reference implementation.

10000 iterations, batch 100, learning rate 0.1, hidden 50, and all 17 per-epoch accuracy
evaluations on the full training and test sets.  The last line printed is one JSON object:
test_acc, train_acc, wall_s (training only), load_s (MNIST from the cache), peak_mib
(peak resident memory of the process).  ``--repeat N`` runs N fresh processes and prints
the medians.  Goal on the 2-core machine: wall_s <= 3, peak_mib <= 400, test_acc >= 0.94.

``--vs-book`` also runs the book's ch04 script (``benchmarks/book_ch04.py``) in fresh
processes, alternating with ours, and prints the ratios of the medians (wall, peak memory);
and the matmul floor: the same matrix products as the run (10000 mini-batch forward and
backward passes, 17 evaluations on the full training and test sets), in float32 on random
data, with nothing else, timed in this process: no training on this machine can be faster.

    python benchmarks/lecture_training.py --repeat 5
    python benchmarks/lecture_training.py --repeat 5 --vs-book
"""
import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def one_run(seed):
    import numpy as np

    from reference import load_mnist, train_two_layer_net
    t0 = time.perf_counter()
    (x_train, t_train), (x_test, t_test) = load_mnist(dtype=np.float32, verbose=False)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    r = train_two_layer_net(x_train, t_train, x_test, t_test, seed=seed)
    wall_s = time.perf_counter() - t0
    return {"test_acc": r.test_acc_list[-1], "train_acc": r.train_acc_list[-1],
            "wall_s": round(wall_s, 3), "load_s": round(load_s, 3),
            "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "seed": seed}


def matmul_floor(iters=10000, batch=100, hidden=50, evals=17, n_train=60000, n_test=10000):
    """(seconds, GFLOP) of the run's matrix products alone (float32, random data)."""
    import numpy as np
    rng = np.random.default_rng(0)
    f32 = np.float32
    x_all = rng.random((n_train, 784), dtype=f32)
    w1, w2 = rng.random((784, hidden), dtype=f32), rng.random((hidden, 10), dtype=f32)
    x, da1 = rng.random((batch, 784), dtype=f32), rng.random((batch, hidden), dtype=f32)
    z1, dy = rng.random((batch, hidden), dtype=f32), rng.random((batch, 10), dtype=f32)
    h_all = rng.random((n_train, hidden), dtype=f32)
    t0 = time.perf_counter()
    for _ in range(iters):
        np.dot(x, w1), np.dot(z1, w2)                                  # forward
        np.dot(dy, w2.T), np.dot(x.T, da1), np.dot(z1.T, dy)           # backward
    for _ in range(evals):
        for n in (n_train, n_test):
            np.dot(x_all[:n], w1), np.dot(h_all[:n], w2)
    seconds = time.perf_counter() - t0
    flops = (iters * 2 * batch * (2 * 784 * hidden + 3 * hidden * 10)
             + evals * 2 * (n_train + n_test) * (784 * hidden + hidden * 10))
    return seconds, flops / 1e9


def fresh(script, seed):
    out = subprocess.run([sys.executable, str(script), *(["--seed", str(seed)]
                          if script == Path(__file__) else [str(seed)])],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1, help="fresh processes to run (median)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--vs-book", action="store_true",
                    help="also the book's ch04 script, alternating, and the matmul floor")
    args = ap.parse_args()
    if args.repeat == 1 and not args.vs_book:
        print(json.dumps(one_run(args.seed)))
        return
    book_script = Path(__file__).with_name("book_ch04.py")
    runs, book = [], []
    for i in range(args.repeat):
        runs.append(fresh(Path(__file__), args.seed))
        print("ours", json.dumps(runs[-1]), flush=True)
        if args.vs_book:
            book.append(fresh(book_script, args.seed))
            print("book", json.dumps(book[-1]), flush=True)
    keys = ("test_acc", "train_acc", "wall_s", "load_s", "peak_mib")
    med = {k: statistics.median(r[k] for r in runs) for k in keys}
    med.update(runs=args.repeat, wall_s_all=[r["wall_s"] for r in runs], seed=args.seed)
    if args.vs_book:
        bmed = {k: statistics.median(r[k] for r in book) for k in keys if k != "load_s"}
        floors = [matmul_floor() for _ in range(args.repeat)]
        floor_s = statistics.median(s for s, _ in floors)
        gflop = floors[0][1]
        med.update(book=bmed, book_wall_s_all=[r["wall_s"] for r in book],
                   wall_ratio_to_book=round(med["wall_s"] / bmed["wall_s"], 3),
                   peak_ratio_to_book=round(med["peak_mib"] / bmed["peak_mib"], 3),
                   matmul_floor_s=round(floor_s, 3), gflop=round(gflop, 1),
                   matmul_gflop_per_s=round(gflop / floor_s, 1),
                   wall_ratio_to_floor=round(med["wall_s"] / floor_s, 2))
    print(json.dumps(med))


if __name__ == "__main__":
    main()
