"""Benchmark: the start-up of a process that imports nncourse (the CLI, a grading worker).

Medians of ``--runs`` fresh processes of ``nncourse --help`` and of the same with
``rfc3987_syntax`` imported first (what every such process paid before nncourse refused that
import: see nncourse/__init__.py).  Prints one JSON object.

    python benchmarks/startup.py --runs 5
"""
import argparse
import json
import statistics
import subprocess
import sys
import time

HELP = "import sys; sys.argv = ['nncourse', '--help']; from nncourse.cli import main; main()"
CASES = {"nncourse --help": HELP,
         "with rfc3987_syntax (before)": "import rfc3987_syntax; " + HELP}


def one(code):
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=False, capture_output=True)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    times = {name: [] for name in CASES}
    for _ in range(args.runs):                      # alternating, so load hits both alike
        for name, code in CASES.items():
            times[name].append(one(code))
    print(json.dumps({name: {"median_s": round(statistics.median(t), 3),
                             "all_s": [round(x, 3) for x in t]} for name, t in times.items()}))


if __name__ == "__main__":
    main()
