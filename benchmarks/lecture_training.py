"""Benchmark: the slides' full MNIST training with the reference implementation.

10000 iterations, batch 100, learning rate 0.1, hidden 50, and all 17 per-epoch accuracy
evaluations on the full training and test sets.  The last line printed is one JSON object:
test_acc, train_acc, wall_s (training only), load_s (MNIST from the cache), peak_mib
(peak resident memory of the process).  ``--repeat N`` runs N fresh processes and prints
the medians.  Goal on the 2-core machine: wall_s <= 3, peak_mib <= 400, test_acc >= 0.94.

BLAS threads: with ``--repeat`` or ``--vs-book``, ours runs in fresh processes with ONE
BLAS thread (OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=MKL_NUM_THREADS=1 in the child's
environment: numpy reads them only when it is imported; the a4 notebook's first cell sets
the same), because on this 2-core machine, shared with other jobs, two OpenBLAS threads
made a mini-batch step 5-10x slower whenever the other core was busy.  ``--blas-threads 0``
runs ours with the machine's default instead (those variables removed).  The output says
which (``blas_threads``).

``--vs-book`` also runs the book's ch04 script (``benchmarks/book_ch04.py``) in fresh
processes, alternating with ours, twice per round: at its default (the variables removed:
what a reader of the book gets) and with the same one-thread environment as ours; and
prints the ratios of the medians to both (wall, peak memory).  It also prints the matmul
floor: the same matrix products as the run (10000 mini-batch forward and backward passes,
17 evaluations on the full training and test sets), in float32 on random data, with
nothing else, timed in a fresh process with ours's environment, one per round, twice:
all in one thread (``matmul_floor_s``), and arranged as the reference runs them, the
evaluations on a second thread beside the mini-batch products (``matmul_floor_beside_s``):
no training arranged like ours can be faster than the second.  Every run's line carries
the 1-minute load average before it (``load1``): the machine is shared, read the numbers
with it.

    python benchmarks/lecture_training.py --repeat 5
    python benchmarks/lecture_training.py --repeat 5 --vs-book
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
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
    """(seconds in one thread, seconds with the evaluations on a second thread, GFLOP) of
    the run's matrix products alone (float32, random data).  The second arrangement is the
    reference's: the mini-batch products in sequence, the evaluations beside them."""
    import numpy as np
    rng = np.random.default_rng(0)
    f32 = np.float32
    x_all = rng.random((n_train, 784), dtype=f32)
    w1, w2 = rng.random((784, hidden), dtype=f32), rng.random((hidden, 10), dtype=f32)
    x, da1 = rng.random((batch, 784), dtype=f32), rng.random((batch, hidden), dtype=f32)
    z1, dy = rng.random((batch, hidden), dtype=f32), rng.random((batch, 10), dtype=f32)
    h_all = rng.random((n_train, hidden), dtype=f32)

    def mini_batches():
        for _ in range(iters):
            np.dot(x, w1), np.dot(z1, w2)                                  # forward
            np.dot(dy, w2.T), np.dot(x.T, da1), np.dot(z1.T, dy)           # backward

    def evaluations():
        for _ in range(evals):
            for n in (n_train, n_test):
                np.dot(x_all[:n], w1), np.dot(h_all[:n], w2)

    t0 = time.perf_counter()
    mini_batches()
    evaluations()
    one_thread = time.perf_counter() - t0
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=1) as beside:
        done = beside.submit(evaluations)
        mini_batches()
        done.result()
    two_threads = time.perf_counter() - t0
    flops = (iters * 2 * batch * (2 * 784 * hidden + 3 * hidden * 10)
             + evals * 2 * (n_train + n_test) * (784 * hidden + hidden * 10))
    return one_thread, two_threads, flops / 1e9


BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def child_env(blas_threads):
    """This process's environment with the BLAS thread variables set to ``blas_threads``,
    or removed (the library's default) for 0."""
    env = {k: v for k, v in os.environ.items() if k not in BLAS_THREAD_VARS}
    if blas_threads:
        env.update(dict.fromkeys(BLAS_THREAD_VARS, str(blas_threads)))
    return env


def fresh(args, blas_threads):
    """Run this script or the book's with ``args`` in a fresh process; its JSON line, plus
    the load average before it and the BLAS threads it ran with (0: default)."""
    load1 = round(os.getloadavg()[0], 2)
    out = subprocess.run([sys.executable, *map(str, args)], env=child_env(blas_threads),
                         capture_output=True, text=True, check=True).stdout
    return {**json.loads(out.strip().splitlines()[-1]), "blas_threads": blas_threads,
            "load1": load1}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1, help="fresh processes to run (median)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--vs-book", action="store_true",
                    help="also the book's ch04 script, alternating, and the matmul floor")
    ap.add_argument("--blas-threads", type=int, default=1,
                    help="BLAS threads of ours, the floor and the book's second run "
                         "(0: the default, variables removed)")
    ap.add_argument("--floor", action="store_true", help=argparse.SUPPRESS)  # a child's job
    args = ap.parse_args()
    if args.floor:
        one_thread, two_threads, gflop = matmul_floor()
        print(json.dumps({"wall_s": round(one_thread, 3), "wall_s_beside": round(two_threads, 3),
                          "gflop": round(gflop, 1)}))
        return
    if args.repeat == 1 and not args.vs_book:
        print(json.dumps(one_run(args.seed)))
        return
    here, book_script, threads = Path(__file__), Path(__file__).with_name("book_ch04.py"), args.blas_threads
    book_envs = [0] + ([threads] if threads else [])
    runs, book, floors = [], {n: [] for n in book_envs}, []
    load_start = [round(x, 2) for x in os.getloadavg()]
    for _ in range(args.repeat):
        runs.append(fresh([here, "--seed", args.seed], threads))
        print("ours", json.dumps(runs[-1]), flush=True)
        if args.vs_book:
            for n in book_envs:
                book[n].append(fresh([book_script, args.seed], n))
                print(f"book (blas threads: {n or 'default'})", json.dumps(book[n][-1]), flush=True)
            floors.append(fresh([here, "--floor"], threads))
            print("floor", json.dumps(floors[-1]), flush=True)
    keys = ("test_acc", "train_acc", "wall_s", "load_s", "peak_mib")
    med = {k: statistics.median(r[k] for r in runs) for k in keys}
    med.update(runs=args.repeat, blas_threads=threads, wall_s_all=[r["wall_s"] for r in runs],
               load1_all=[r["load1"] for r in runs], seed=args.seed)
    if args.vs_book:
        for n, label in zip(book_envs, ("book", "book_same_env")):
            bmed = {k: statistics.median(r[k] for r in book[n]) for k in keys if k != "load_s"}
            bmed.update(blas_threads=n, wall_s_all=[r["wall_s"] for r in book[n]],
                        load1_all=[r["load1"] for r in book[n]])
            med.update({label: bmed,
                        f"wall_ratio_to_{label}": round(med["wall_s"] / bmed["wall_s"], 3),
                        f"peak_ratio_to_{label}": round(med["peak_mib"] / bmed["peak_mib"], 3)})
        floor_s = statistics.median(f["wall_s"] for f in floors)
        gflop = floors[0]["gflop"]
        med.update(matmul_floor_s=round(floor_s, 3), matmul_floor_s_all=[f["wall_s"] for f in floors],
                   matmul_floor_blas_threads=threads, gflop=gflop,
                   matmul_gflop_per_s=round(gflop / floor_s, 1),
                   wall_ratio_to_floor=round(med["wall_s"] / floor_s, 2))
        beside_s = statistics.median(f["wall_s_beside"] for f in floors)
        med.update(matmul_floor_beside_s=round(beside_s, 3),
                   matmul_floor_beside_s_all=[f["wall_s_beside"] for f in floors],
                   wall_ratio_to_floor_beside=round(med["wall_s"] / beside_s, 2))
    med["load_start_end"] = [load_start, [round(x, 2) for x in os.getloadavg()]]
    print(json.dumps(med))


if __name__ == "__main__":
    main()
