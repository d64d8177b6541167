"""Where the time of grading one submission goes (a benchmark, not a test).

    python benchmarks/stages.py [--runs 3] [--students 3] [--course-dir .] [--json FILE]
                                [--cases a1_loss:reference,a4_two_layer_net:release]

Each case is ``--students`` submissions of one assignment, all of one ``kind`` (as in
``nncourse.cohort``: ``reference``, ``release``, ...), in a fresh built copy of the course;
``--runs`` times it runs ``grade(course, [aid], force=True, report=False)`` with ``-j 1`` (a
new worker process every run) and prints the median seconds of each stage, for the first
task ("cold": what the first submission of every slot pays) and for the later ones ("warm":
what every other submission pays; their median per run, then the median of the runs).  The stages come from the timings the code keeps anyway (``TaskResult.stages``:
the worker's, the kernel driver's ``GradingNotes.timings`` and the merge's), so nothing runs
under a profiler:

  plan              grade() up to the executor: build check, scans, fingerprints, the
                    grading inputs' archive, task order
  worker start      executor start to the result's arrival, minus the task's own time:
                    the worker process's start, imports, the inputs' transfer, the result's
  prepare           the task's scratch course: inputs unpacked (first task), sandbox set up,
                    submission written
  kernel start      sandbox + kernel start (summed over the notebooks)
  execution         the notebook's cells in the kernel
  hidden checks     the grader's checks of the test cells
  kernel stop       the execute preprocessor's rest (the kernel's shutdown)
  nbgrader          autograde minus the execute preprocessor: nbgrader's own preprocessors,
                    its gradebook writes, file copies
  read results      graded notebooks read, scratch gradebook scores, autograded files
  feedback          the feedback pages rendered in the worker
  merge: files      autograded/ replaced
  merge: gradebook  manual grades noted, scores written, flags put back, scores read
  merge: feedback   the worker's pages written (or made again)
  merge: record     the grades digest and the result record
  after             the rest of grade(): executor closed, feedback refresh, pending manual
  total             grade()'s wall time
"""
import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nncourse.build import build                       # noqa: E402
from nncourse.cohort import create_cohort              # noqa: E402
from nncourse.core.course import Course, copy_course   # noqa: E402
from nncourse.grade.executors import LocalExecutor     # noqa: E402
from nncourse.grade.run import grade                   # noqa: E402

ROWS = ("plan", "worker start", "prepare", "kernel start", "execution", "hidden checks",
        "kernel stop", "nbgrader", "read results", "feedback", "merge: files",
        "merge: gradebook", "merge: feedback", "merge: record", "after", "total")


class TimedExecutor(LocalExecutor):
    """The local executor, noting when ``run`` starts and when each result arrives."""

    def run(self, tasks, inputs, load=None):
        self.started = time.monotonic()
        self.results = []
        for result in super().run(tasks, inputs, load):
            self.results.append((time.monotonic() - self.started, result))
            yield result


def stage_row(s):
    """The stages of one task from its ``TaskResult.stages``."""
    kernel = {k: s.get(f"kernel_{k}", 0.0) for k in ("kernel_start", "execute", "checks",
                                                     "preprocess")}
    return {"prepare": s["prepare"], "kernel start": kernel["kernel_start"],
            "execution": kernel["execute"], "hidden checks": kernel["checks"],
            "kernel stop": kernel["preprocess"] - kernel["kernel_start"] - kernel["execute"]
            - kernel["checks"],
            "nbgrader": s["autograde"] - kernel["preprocess"],
            "read results": s.get("read_results", 0.0), "feedback": s.get("feedback", 0.0),
            "merge: files": s.get("merge_files", 0.0),
            "merge: gradebook": s.get("merge_gradebook", 0.0),
            "merge: feedback": s.get("merge_feedback", 0.0),
            "merge: record": s.get("merge_record", 0.0)}


def one_run(course, aid, students):
    """One ``grade`` of ``students`` submissions with -j 1: the first task's stages (a new
    worker: "cold"), the median of the later tasks' ("warm"), and the run's score set."""
    ex = TimedExecutor(course, 1)
    start = time.monotonic()
    run = grade(course, [aid], force=True, progress=False, report=False, executor=ex)
    total = time.monotonic() - start
    assert not run.not_graded, [r.get("error_en") or r["error"] for r in run.not_graded]
    rows, last = [], 0.0
    for arrived, res in ex.results:
        row = stage_row(res.stages)
        row["worker start"] = arrived - last - res.stages["task"]
        last = arrived
        rows.append(row)
    cold = dict(rows[0], plan=ex.started - start, total=total,
                after=total - (ex.started - start) - ex.results[-1][0] - rows[-1]["merge: files"]
                - rows[-1]["merge: gradebook"] - rows[-1]["merge: feedback"]
                - rows[-1]["merge: record"])
    warm = {k: statistics.median(r[k] for r in rows[1:]) for k in rows[0]} if len(rows) > 1 else {}
    warm["total"] = sum(v for k, v in warm.items())
    return cold, warm, {r["score"] for r in run.results}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--course-dir", default=str(ROOT))
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--cases", default="a1_loss:reference,a4_two_layer_net:release",
                   help="comma-separated ASSIGNMENT:KIND (KIND as in nncourse.cohort)")
    p.add_argument("--students", type=int, default=3,
                   help="submissions per run (the same KIND each): the first is graded by a "
                        "new worker, the others by a warm one")
    p.add_argument("--json", help="also write the medians to this file")
    args = p.parse_args(argv)
    src = Course.load(args.course_dir)
    medians, scores = {}, {}
    with tempfile.TemporaryDirectory(prefix="nncourse-stages-") as tmp:
        for case in args.cases.split(","):
            aid, kind = case.split(":")
            course = Course.load(copy_course(src.root, Path(tmp) / aid))
            build(course, [aid])
            create_cohort(course, [{"student": f"s{i:02d}", "kind": kind}
                                   for i in range(1, args.students + 1)], assignments=[aid])
            colds, warms = [], []
            for i in range(args.runs):
                cold, warm, score = one_run(course, aid, args.students)
                colds.append(cold)
                warms.append(warm)
                scores.setdefault(case, set()).update(score)
                print(f"{case} run {i + 1}: grade() {cold['total']:.2f} s", flush=True)
            medians[f"{case} cold"] = {k: statistics.median(r[k] for r in colds) for k in ROWS}
            if all(warms):
                medians[f"{case} warm"] = {k: statistics.median(r[k] for r in warms)
                                           for k in ROWS if k in warms[0]}
    cases = list(medians)
    width = max(len(c) for c in cases + ["stage"]) + 2
    print(f"\nmedian seconds of {args.runs} runs; each run grades {args.students} submission(s) "
          "with -j 1; cold: the first task (a new worker process), warm: the median of the "
          "later tasks (their 'worker start' is the worker's turn-around between tasks; "
          "'total' their sum)")
    print("stage".ljust(18) + "".join(c.rjust(width) for c in cases))
    for k in ROWS:
        print(k.ljust(18) + "".join(
            (f"{medians[c][k]:.3f}" if k in medians[c] else "-").rjust(width) for c in cases))
    print("scores".ljust(18) + "".join(
        ("/".join(str(x) for x in sorted(scores[c.rsplit(' ', 1)[0]]))).rjust(width)
        for c in cases))
    if args.json:
        Path(args.json).write_text(json.dumps(medians, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
