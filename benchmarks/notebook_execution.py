"""Per-notebook cost of autograding (a benchmark, not a test).

For each assignment, executes its source notebook (reference solutions) twice with the same
kernel set-up a grading kernel gets (one BLAS thread): once with the hidden tests removed
(what a student's own run costs) and once with them (what autograding executes).  Prints per
assignment the medians of ``--runs`` runs and, as the last line, one JSON object.
Targets (issue #3): a notebook with the lecture-size MNIST training autogrades in <= 60 s;
the hidden tests add <= 5 s per notebook.

    python benchmarks/notebook_execution.py --runs 3
"""
import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import course_config  # noqa: E402

HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)


def run_once(path, hidden):
    nb = nbformat.read(path, 4)
    if not hidden:
        for cell in nb.cells:
            cell.source = HIDDEN.sub("", cell.source)
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    os.environ.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MPLBACKEND="Agg",
                      PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    out = {}
    for aid in course_config.ASSIGNMENTS:
        (path,) = sorted((ROOT / "source" / aid).glob("*.ipynb"))
        without = [run_once(path, hidden=False) for _ in range(args.runs)]
        with_ = [run_once(path, hidden=True) for _ in range(args.runs)]
        out[aid] = {"visible_only_s": round(statistics.median(without), 2),
                    "with_hidden_s": round(statistics.median(with_), 2),
                    "hidden_overhead_s": round(statistics.median(with_) - statistics.median(without), 2)}
        print(aid, json.dumps(out[aid]), flush=True)
    out["runs"] = args.runs
    print(json.dumps(out))


if __name__ == "__main__":
    main()
