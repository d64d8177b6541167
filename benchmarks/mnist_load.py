"""Benchmark: load MNIST from the verified .npy cache (median of N runs, default 5).

    .venv/bin/python benchmarks/mnist_load.py [--cache-dir DIR] [--runs 5]

The cache is built first if needed (not timed).  Measured, each as a median:
  cache_load_s       load_mnist() (float32, normalized, flattened) in a fresh Python process,
                     like the first load in a new notebook kernel (the headline number);
  cache_load_warm_s  the same call repeated inside one process;
  cache_load_raw_s   load_mnist(normalize=False) inside one process (np.load + checks only).
The last line printed is JSON: {"cache_load_s": ..., ...}.
"""
import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from reference import mnist  # noqa: E402

FRESH = """
import sys, time
sys.path.insert(0, {root!r})
from reference import mnist
t = time.perf_counter()
mnist.load_mnist(cache_dir={cache!r}, verbose=False)
print(time.perf_counter() - t)
"""


def _median_in_process(runs, cache, **kw):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        mnist.load_mnist(cache_dir=cache, verbose=False, **kw)
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def _median_fresh(runs, cache):
    times = []
    for _ in range(runs):
        code = FRESH.format(root=str(ROOT), cache=cache)
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                             text=True).stdout
        times.append(float(out.split()[-1]))
    return statistics.median(times), times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", default=None,
                        help="cache folder (default: NNCOURSE_MNIST_CACHE or ~/.cache/...)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    mnist.load_mnist(normalize=False, cache_dir=args.cache_dir, verbose=True)  # build if needed
    cache = args.cache_dir
    fresh, fresh_all = _median_fresh(args.runs, cache)
    warm, warm_all = _median_in_process(args.runs, cache)
    raw, raw_all = _median_in_process(args.runs, cache, normalize=False)
    for label, values in (("fresh process", fresh_all), ("warm", warm_all), ("raw uint8", raw_all)):
        print(f"{label:>13}: " + " ".join(f"{v:.3f}" for v in values) + " s")
    print(json.dumps({"cache_load_s": round(fresh, 4), "cache_load_warm_s": round(warm, 4),
                      "cache_load_raw_s": round(raw, 4), "runs": args.runs}))


if __name__ == "__main__":
    main()
