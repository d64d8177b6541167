"""Benchmark: the start-up of a process that imports nncourse (the CLI, a grading worker).

Medians of ``--runs`` fresh processes of ``nncourse --help`` and of the same with
``rfc3987_syntax`` imported first (what every such process paid before nncourse refused that
import: see nncourse/__init__.py), and with the LTI layer (Flask, pylti1p3) imported first
(what every command paid before it moved to nncourse/lti/api.py, loaded for the LTI commands
only).  Prints one JSON object.

    python benchmarks/startup.py --runs 5
"""
import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

HELP = "import sys; sys.argv = ['nncourse', '--help']; from nncourse.cli import main; main()"
CASES = {"nncourse --help": HELP,
         "with rfc3987_syntax (before)": "import rfc3987_syntax; " + HELP,
         "with the LTI layer (nncourse lti ...)": "import nncourse.lti.api; " + HELP}


def one(code):
    """(wall seconds, CPU seconds: user + system) of one fresh process running ``code``; the
    CPU time is what the start-up costs when other processes share the cores."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=False, capture_output=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    times = {name: [] for name in CASES}
    for _ in range(args.runs):                      # alternating, so load hits both alike
        for name, code in CASES.items():
            times[name].append(one(code))
    print(json.dumps({name: {"median_s": round(statistics.median(w for w, _ in t), 3),
                             "median_cpu_s": round(statistics.median(c for _, c in t), 3),
                             "all_s": [round(w, 3) for w, _ in t]}
                      for name, t in times.items()}))


if __name__ == "__main__":
    main()
