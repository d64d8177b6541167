"""Grading speed on the real course (a benchmark, not a test).

    python benchmarks/grading.py [--runs 3] [--students 10] [--jobs 1,2] [--course-dir .]

1. one student's full submission (all assignments, reference solutions), ``--jobs 1`` and
   ``--jobs 2``: median wall time of ``grade --force`` (target <= 15 s on the 2-core machine);
2. ``--students`` students with the reference solutions, ``--jobs 1`` vs ``--jobs 2``:
   medians and the speed-up (target >= 1.7x).
Each run works on a fresh copy of the course in a temporary folder.
"""
import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from nncourse.build import build
from nncourse.cohort import create_cohort
from nncourse.core.course import Course, copy_course
from nncourse.grade.run import grade


def cohort_course(src, dest, students):
    course = Course.load(copy_course(src.root, dest))
    build(course)
    create_cohort(course, [{"student": f"s{i:02d}", "kind": "reference"} for i in range(students)])
    return course


def timed_grade(course, jobs):
    start = time.perf_counter()
    run = grade(course, jobs=jobs, force=True, progress=False, report=False)
    seconds = time.perf_counter() - start
    assert not run.not_graded, [r["error"] for r in run.not_graded]
    return seconds, sorted((r["student"], r["assignment"], r["score"]) for r in run.results)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--course-dir", default=".")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--students", type=int, default=10)
    p.add_argument("--jobs", default="1,2", help="comma-separated --jobs values to measure")
    p.add_argument("--json", help="also write the medians to this file")
    args = p.parse_args(argv)
    src = Course.load(args.course_dir)
    out = {}
    with tempfile.TemporaryDirectory(prefix="nncourse-bench-") as tmp:
        one = cohort_course(src, Path(tmp) / "one", 1)
        jobs_list = [int(j) for j in args.jobs.split(",")]
        for jobs in jobs_list:  # --jobs 2 grades one student's assignments side by side
            times = [timed_grade(one, jobs)[0] for _ in range(args.runs)]
            out[f"one_student_jobs{jobs}_s"] = statistics.median(times)
            print(f"one student, all assignments, --jobs {jobs}: median {statistics.median(times):.1f}"
                  f" s ({', '.join(f'{t:.1f}' for t in times)})", flush=True)
        many = cohort_course(src, Path(tmp) / "many", args.students)
        for jobs in jobs_list:
            runs = [timed_grade(many, jobs) for _ in range(args.runs)]
            out[f"jobs{jobs}_s"] = statistics.median(t for t, _ in runs)
            out[f"jobs{jobs}_grades"] = runs[0][1]
            print(f"{args.students} students, --jobs {jobs}: median {out[f'jobs{jobs}_s']:.1f} s "
                  f"({', '.join(f'{t:.1f}' for t, _ in runs)})", flush=True)
    same = True
    if {1, 2} <= set(jobs_list):
        out["speedup"] = out["jobs1_s"] / out["jobs2_s"]
        same = out.pop("jobs1_grades") == out.pop("jobs2_grades")
        print(f"speed-up --jobs 2 / --jobs 1: {out['speedup']:.2f}x; identical grades: {same}")
    for jobs in jobs_list:
        out.pop(f"jobs{jobs}_grades", None)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
