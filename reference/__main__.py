"""``python -m reference``: the slides' training on real MNIST, its accuracies and figure."""
import argparse
import time
from pathlib import Path

from .training import plot_learning_curve, train_mnist


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m reference", description=__doc__)
    ap.add_argument("--seed", type=int, default=0, help="seed of the initial weights and batches")
    ap.add_argument("--figure", default="reports/learning_curve.png", help="where to save the figure")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    r = train_mnist(seed=args.seed, verbose=True)
    print(f"final: train acc {r.train_acc_list[-1]:.4f}, test acc {r.test_acc_list[-1]:.4f} "
          f"({time.perf_counter() - t0:.1f} s)")
    path = Path(args.figure)
    path.parent.mkdir(parents=True, exist_ok=True)
    plot_learning_curve(r.train_acc_list, r.test_acc_list, path=path)
    print(f"learning curve: {path.resolve()}")


if __name__ == "__main__":
    main()
