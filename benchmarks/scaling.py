"""How grading scales: nncourse's executors against stock nbgrader and plain execution
(a benchmark, not a test).

    python benchmarks/scaling.py [--students 16] [--runs 1] [--only j1,j2,dask-local,...]
                                 [--assignments a1_loss,...] [--entries ...] [--keep DIR]

The cohort: ``--students N`` students (ids s01..sNN) x every assignment of
``course_config.ASSIGNMENTS`` (or ``--assignments``), made in a temporary copy of the course
by cycling through the demo cohort's non-slow entries (``nncourse.cohort.cohort_of``:
reference solutions, the untouched release, the typical mistakes) -- s01 is the first
entry's submission, s02 the second's, and so on, round and round.  The broken student
(``s08_broken``: a truncated a1 notebook, a kernel that exits in a2) is kept in, as the
realistic case of a bad submission: its tasks count as notebooks everywhere, graded or not.
``--entries`` cycles through only the named entries instead.

The configurations (``--only``; each run on a fresh copy of the same built, graded-nothing
cohort with the same grading secret, so the same secret seeds), timing
``grade(course, jobs=..., progress=False, report=True, force=True, ...)`` unless said:

  j1              local worker processes, ``jobs=1``
  j2              local worker processes, ``jobs=2``
  dask-local      ``dask="local"``, ``jobs=2`` (the LocalCluster's start is timed: it is
                  part of what ``--dask local`` costs)
  dask-scheduler  ``scheduler=ADDRESS`` of a ``dask scheduler`` + 2 ``dask worker
                  --nthreads 1`` processes started by this script on 127.0.0.1, fresh for
                  every run (cold worker caches, like the other configurations) and not
                  timed: an existing cluster; killed at the end (process groups)
  stock           stock nbgrader in the copy, venv's bin on PATH: per assignment
                  ``nbgrader autograde A --force`` then ``nbgrader generate_feedback A
                  --force`` (the copy's nbgrader_config.py makes it grade the way nncourse
                  does: hidden checks in the grader, sandboxed kernels; but without the
                  secret per-submission seeds)
  floor           the floor: plain nbclient execution of the same submitted notebooks (all
                  of them), 2 processes (ProcessPoolExecutor), kernel ``python3``, one BLAS
                  thread, cwd = a copy of the submission folder with the assignment's other
                  source files (as ``autograde`` copies them, e.g. a4's mnist.py), errors
                  allowed; no sandbox, no hidden checks, no gradebook, no feedback

``--runs R`` repeats each configuration, the table shows medians: wall seconds, notebooks per
minute, seconds per notebook, the ratio to stock nbgrader and to the floor.  Then Dask's
overhead per task, (Dask time - local ``jobs=2`` time) / tasks, and projections of a
300-student and a 10,000-student deadline (x 4 notebooks each) on 1, 4 and 16 machines like
this one, from the measured ``jobs=2`` seconds per notebook, assuming linear scaling across
machines (no coordinator or network limit).  Finally whether every configuration gave the
same grades (each run's gradebook total per (student, assignment), read with
``nbgrader.api.Gradebook``; stock nbgrader's gradebook too; a submission missing from the
gradebook, or with no automatic or manual score in any cell, counts as "-"), and one JSON
line of all numbers.  Exit status 1 when the grades differ.  A run's line says when grading
kernels had to be started again (their logs' "kernel did not start"): each such wait is in
its time, so compare only runs without them (other processes of the sandbox uid count
against KERNEL_MAX_PROCESSES).

Run it with the project's venv (``.venv/bin/python benchmarks/scaling.py``) on an otherwise
idle machine: the full size (16 students x 4 assignments, 6 configurations) takes a while.
"""
import argparse
import concurrent.futures
import fnmatch
import json
import multiprocessing
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BIN = Path(sys.executable).parent
CONFIGS = ("j1", "j2", "dask-local", "dask-scheduler", "stock", "floor")
DESCRIBE = {"j1": "local, jobs=1", "j2": "local, jobs=2", "dask-local": "LocalCluster, 2 workers",
            "dask-scheduler": "scheduler + 2 workers", "stock": "stock nbgrader",
            "floor": "nbclient, 2 processes"}
PROJECT_STUDENTS = (300, 10_000)
PROJECT_MACHINES = (1, 4, 16)
NOTEBOOKS_PER_STUDENT = 4                 # one per assignment of the course
FLOOR_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
             "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}
SOURCE_IGNORE = (".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.pct.py", "*.ipynb")


# --- the cohort ---------------------------------------------------------------------------
def make_cohort(dest, students, aids, entry_ids=None):
    """A built copy of the course with ``students`` submissions of each of ``aids`` and a
    grading secret, graded nothing; returns (root, {student: demo entry})."""
    from nncourse.build import build
    from nncourse.cohort import cohort_of, create_cohort
    from nncourse.core.course import Course, copy_course
    course = Course.load(copy_course(ROOT, dest))
    build(course, aids)
    entries = [e for e in cohort_of(course) if not e.get("slow")]
    if entry_ids:
        known = {e["student"]: e for e in entries}
        missing = [e for e in entry_ids if e not in known]
        if missing:
            raise SystemExit(f"--entries: no non-slow demo entry {', '.join(missing)} "
                             f"(there are {', '.join(known)})")
        entries = [known[e] for e in entry_ids]
    width = max(2, len(str(students)))
    cohort = [dict(entries[i % len(entries)], student=f"s{i + 1:0{width}d}")
              for i in range(students)]
    create_cohort(course, cohort, assignments=aids)
    course.state_dir.mkdir(parents=True, exist_ok=True)
    secret = course.state_dir / "grading-secret"
    secret.write_text(secrets.token_hex(32))
    secret.chmod(0o600)
    return course.root, {c["student"]: entries[i % len(entries)]["student"]
                         for i, c in enumerate(cohort)}


def fresh_copy(cohort, dest):
    shutil.copytree(cohort, dest, symlinks=True)
    return Path(dest)


def gradebook_totals(root, aids):
    """{(student, assignment): total score or None} from the copy's gradebook; None when
    the gradebook has no submission or one without any score (stock nbgrader leaves such a
    row, all scores 0, for a notebook it could not read; nncourse writes none)."""
    from nbgrader.api import Gradebook, MissingEntry
    from nncourse.core.course import Course
    course = Course.load(root)
    students = course.students(aids)
    out = {(s, a): None for s in students for a in aids
           if course.submitted_dir(s, a).is_dir()}
    with Gradebook(course.db_url, course.course_id) as gb:
        for aid in aids:
            try:
                subs = gb.assignment_submissions(aid)
            except MissingEntry:
                continue
            for sub in subs:
                graded = any(g.auto_score is not None or g.manual_score is not None
                             for nb in sub.notebooks for g in nb.grades)
                out[(sub.student.id, aid)] = round(float(sub.score or 0.0), 6) if graded else None
    return out


# --- the configurations -------------------------------------------------------------------
def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clean_env(env):
    """The environment this script started with, this venv's bin first on PATH."""
    env = dict(env)
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    return env


class Cluster:
    """``dask scheduler`` and 2 ``dask worker --nthreads 1``, each in its own process group."""

    def __init__(self, tmp, env, n_workers=2):
        self.port = _free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.tmp = Path(tmp)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.env = {k: v for k, v in _clean_env(env).items() if not k.startswith("PYTHON")}
        self.procs = {}
        try:
            self._start("scheduler", ["scheduler", "--host", "127.0.0.1", "--port",
                                      str(self.port), "--no-dashboard"])
            for i in range(n_workers):
                self._start(f"w{i}", ["worker", self.address, "--nthreads", "1", "--name",
                                      f"w{i}", "--no-dashboard", "--host", "127.0.0.1",
                                      "--local-directory", str(self.tmp / f"w{i}")])
            from distributed import Client
            with Client(self.address, timeout="60s") as c:
                c.wait_for_workers(n_workers, timeout=120)
        except BaseException:
            self.close()
            raise

    def _start(self, name, args):
        with open(self.tmp / f"{name}.log", "wb") as log:
            self.procs[name] = subprocess.Popen(
                [str(BIN / "dask"), *args], stdout=log, stderr=subprocess.STDOUT, env=self.env,
                cwd=self.tmp, start_new_session=True)

    def close(self):
        for name in reversed(list(self.procs)):
            proc = self.procs.pop(name)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


def run_nncourse(root, aids, how, tmp, env):
    """Grade the copy at ``root`` with nncourse; returns (seconds, note)."""
    from nncourse.core.course import Course
    from nncourse.grade.run import grade
    course = Course.load(root)
    kwargs = {"j1": {"jobs": 1}, "j2": {"jobs": 2}, "dask-local": {"jobs": 2, "dask": "local"},
              "dask-scheduler": {"jobs": 2}}[how]
    cluster = Cluster(Path(tmp) / "cluster", env) if how == "dask-scheduler" else None
    try:
        if cluster is not None:
            kwargs["scheduler"] = cluster.address
        start = time.perf_counter()
        run = grade(course, aids, progress=False, report=True, force=True, **kwargs)
        seconds = time.perf_counter() - start
    finally:
        if cluster is not None:
            cluster.close()
    bad = run.not_graded
    note = f"{run.executor}; {len(run.results)} results, {len(bad)} not graded"
    if not run.sandboxed:
        note += "; NO SANDBOX"
    return seconds, note


def run_stock(root, aids, env):
    """Stock nbgrader autograde + generate_feedback per assignment in the copy."""
    env = _clean_env(env)
    start = time.perf_counter()
    codes = []
    for aid in aids:
        for cmd in ("autograde", "generate_feedback"):
            proc = subprocess.run([str(BIN / "nbgrader"), cmd, aid, "--force"], cwd=root,
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True)
            codes.append(proc.returncode)
            (Path(root) / f"nbgrader-{cmd}-{aid}.log").write_text(proc.stdout, encoding="utf-8")
    seconds = time.perf_counter() - start
    failed = sum(1 for c in codes if c)
    return seconds, (f"{len(codes)} nbgrader commands, {failed} exited non-zero "
                     "(a submission nbgrader could not grade makes autograde exit 1)")


def _floor_init(env, log):
    os.environ.clear()
    os.environ.update(env)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 2)                    # the kernels' chatter (inherited stderr) to a log file
    os.close(fd)


def _floor_one(path, timeout):
    """Execute one notebook with nbclient; returns (seconds, error or None, [names of the
    errors the cells raised])."""
    import nbformat
    from nbclient import NotebookClient
    start = time.perf_counter()
    nb, error = None, None
    try:
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(Path(path).parent)}}).execute()
    except Exception as exc:          # unreadable notebook, dead kernel, timeout
        error = f"{type(exc).__name__}: {str(exc)[:120]}"
    seconds = time.perf_counter() - start
    raised = [o.get("ename", "?") for c in (nb.cells if nb else []) if c.cell_type == "code"
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    return seconds, error, raised


def floor_work(root, aids, dest):
    """Copies of every submission folder plus the assignment's other source files (what
    autograde puts next to the notebook); returns the notebooks, longest assignments first."""
    from nncourse.core.course import Course
    course = Course.load(root)
    notebooks = []
    for aid in reversed(aids):                      # a4 (training) first, as nncourse orders
        extras = [p for p in sorted(course.source_dir(aid).rglob("*")) if p.is_file()
                  and not any(fnmatch.fnmatch(part, pat) for part in p.relative_to(
                      course.source_dir(aid)).parts for pat in SOURCE_IGNORE)]
        for student in course.students([aid]):
            src = course.submitted_dir(student, aid)
            if not src.is_dir():
                continue
            work = Path(dest) / student / aid
            shutil.copytree(src, work)
            for p in extras:
                target = work / p.relative_to(course.source_dir(aid))
                if not target.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(p, target)
            notebooks += sorted(str(p) for p in work.glob("*.ipynb"))
    return notebooks


def run_floor(root, aids, tmp, env):
    from nncourse.core.course import Course
    course = Course.load(root)
    notebooks = floor_work(root, aids, Path(tmp) / "floor")
    kenv = dict(_clean_env(env), **FLOOR_ENV)
    kenv["PYTHONPATH"] = os.pathsep.join(p for p in (str(course.root), env.get("PYTHONPATH", ""))
                                         if p)
    for key, setting in (("NNCOURSE_MNIST_CACHE", "MNIST_CACHE_DIR"),
                         ("NNCOURSE_MNIST_DIR", "MNIST_DIR")):
        if course.setting(setting):
            kenv[key] = str(course.setting(setting))
    timeout = int(course.setting("CELL_TIMEOUT_S"))
    ctx = multiprocessing.get_context("spawn")     # no fork of a process with threads
    log = str(Path(tmp) / "floor-kernels.log")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx, initializer=_floor_init,
                                                initargs=(kenv, log)) as pool:
        list(pool.map(time.sleep, [0.5, 0.5]))     # both processes up before the clock
        start = time.perf_counter()
        results = list(pool.map(_floor_one, notebooks, [timeout] * len(notebooks)))
        seconds = time.perf_counter() - start
    where = [Path(nb).relative_to(Path(tmp) / "floor").parts[:2] for nb in notebooks]
    errors = [(w, e) for w, (_, e, _) in zip(where, results) if e]
    note = f"{len(notebooks)} notebooks, {len(errors)} stopped"
    if errors:
        note += " (" + "; ".join(f"{'/'.join(w)}: {e}" for w, e in errors[:3]) + ")"
    cells = {"/".join(w): raised for w, (_, _, raised) in zip(where, results) if raised}
    if cells:       # the release's stubs raise NotImplementedError, mistakes may raise too
        shown = "; ".join(f"{w}: {len(r)} x {', '.join(sorted(set(r)))}"
                          for w, r in list(cells.items())[:4])
        note += f", {len(cells)} with cells that raised ({shown})"
    return seconds, note


def kernel_retries(run_dir):
    """How many grading kernels failed to start and were started again (nncourse's
    "kernel did not start" warning) in the logs of a run: the local workers', the dask
    workers', stock nbgrader's (a LocalCluster's workers log to this script's stderr, not
    counted).  Other users' kernels of the same sandbox uid count against
    KERNEL_MAX_PROCESSES, so a busy machine shows up here."""
    n = 0
    for log in Path(run_dir).rglob("*.log"):
        try:
            n += log.read_text(encoding="utf-8", errors="replace").count("kernel did not start")
        except OSError:
            pass
    return n


# --- the report ---------------------------------------------------------------------------
def hms(seconds):
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def compare_grades(grades):
    """grades: {(config, run): {(student, aid): total}} -> (same, differing rows)."""
    keys = sorted({k for g in grades.values() for k in g})
    rows = []
    for key in keys:
        values = {cr: g.get(key) for cr, g in grades.items()}
        if len(set(values.values())) > 1:
            rows.append((key, values))
    return not rows, rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=16)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--only", default=",".join(CONFIGS),
                    help=f"comma-separated configurations among {', '.join(CONFIGS)}")
    ap.add_argument("--assignments", default="",
                    help="comma-separated assignments (default: all of course_config.ASSIGNMENTS)")
    ap.add_argument("--entries", default="",
                    help="comma-separated demo cohort entries to cycle through (default: all "
                         "non-slow ones)")
    ap.add_argument("--keep", help="work (and leave everything) in this folder")
    args = ap.parse_args(argv)
    only = [c.strip() for c in args.only.split(",") if c.strip()]
    unknown = [c for c in only if c not in CONFIGS]
    if unknown or not only:
        ap.error(f"--only: unknown configuration(s) {', '.join(unknown)}; "
                 f"choose among {', '.join(CONFIGS)}")
    only = [c for c in CONFIGS if c in only]
    from nncourse.core.course import Course
    course_aids = Course.load(ROOT).assignments
    aids = [a.strip() for a in args.assignments.split(",") if a.strip()] or course_aids
    if any(a not in course_aids for a in aids):
        ap.error(f"--assignments: choose among {', '.join(course_aids)}")
    aids = [a for a in course_aids if a in aids]
    entry_ids = [e.strip() for e in args.entries.split(",") if e.strip()]

    env0 = dict(os.environ)             # grade() changes os.environ; every run starts from this
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))    # finally: clusters are killed
    if args.keep:
        work = Path(args.keep).resolve()
        work.mkdir(parents=True, exist_ok=True)
        holder = None
    else:
        holder = tempfile.TemporaryDirectory(prefix="nncourse-scaling-")
        work = Path(holder.name)
    times, notes, grades, retries = {}, {}, {}, {}
    try:
        t0 = time.perf_counter()
        cohort, who = make_cohort(work / "cohort", args.students, aids, entry_ids)
        tasks = sum(1 for s in who for a in aids if (cohort / "submitted" / s / a).is_dir())
        cycle = sorted(set(who.values()), key=list(who.values()).index)
        print(f"cohort: {args.students} students x {len(aids)} assignment(s) "
              f"({', '.join(aids)}) = {tasks} notebooks, cycling through {', '.join(cycle)}; "
              f"built in {time.perf_counter() - t0:.1f} s ({cohort})", flush=True)
        for config in only:
            times[config] = []
            for r in range(args.runs):
                run_dir = work / "runs" / f"{config}-{r + 1}"
                shutil.rmtree(run_dir, ignore_errors=True)
                run_dir.mkdir(parents=True)
                root = fresh_copy(cohort, run_dir / "course")
                try:
                    if config == "stock":
                        seconds, note = run_stock(root, aids, env0)
                    elif config == "floor":
                        seconds, note = run_floor(root, aids, run_dir, env0)
                    else:
                        seconds, note = run_nncourse(root, aids, config, run_dir, env0)
                finally:
                    os.environ.clear()
                    os.environ.update(env0)
                if config != "floor":
                    grades[(config, r + 1)] = gradebook_totals(root, aids)
                retries[config] = retries.get(config, 0) + kernel_retries(run_dir)
                if kernel_retries(run_dir):
                    note += (f"; {kernel_retries(run_dir)} kernel start(s) retried: the time "
                             "includes waiting for them")
                times[config].append(seconds)
                notes[config] = note
                print(f"  {config} run {r + 1}/{args.runs}: {seconds:.1f} s  [{note}]", flush=True)
                if not args.keep:
                    shutil.rmtree(run_dir, ignore_errors=True)
    finally:
        os.environ.clear()
        os.environ.update(env0)
        if holder is not None:
            holder.cleanup()

    med = {c: statistics.median(ts) for c, ts in times.items()}
    out = {"students": args.students, "assignments": aids, "notebooks": tasks,
           "runs": args.runs, "cycle": cycle, "configs": {}}
    print()
    head = (f"{'configuration':<40}{'wall s':>9}{'nb/min':>9}{'s/nb':>8}"
            f"{'x stock':>9}{'x floor':>9}")
    print(head)
    print("-" * len(head))
    for c in only:
        m = med[c]
        row = {"median_s": round(m, 2), "runs_s": [round(t, 2) for t in times[c]],
               "notebooks_per_min": round(tasks / m * 60, 2), "s_per_notebook": round(m / tasks, 3),
               "vs_stock": round(m / med["stock"], 3) if "stock" in med else None,
               "vs_floor": round(m / med["floor"], 3) if "floor" in med else None,
               "kernel_start_retries": retries.get(c, 0), "note": notes[c]}
        out["configs"][c] = row
        ratio = lambda v: f"{v:>8.2f}x" if v is not None else f"{'-':>9}"  # noqa: E731
        print(f"{c + ' (' + DESCRIBE[c] + ')':<40}{m:>9.1f}{row['notebooks_per_min']:>9.1f}"
              f"{row['s_per_notebook']:>8.2f}{ratio(row['vs_stock'])}{ratio(row['vs_floor'])}")
    print()
    out["dask_overhead_per_task_s"] = {}
    for c in ("dask-local", "dask-scheduler"):
        if c in med and "j2" in med:
            o = (med[c] - med["j2"]) / tasks
            out["dask_overhead_per_task_s"][c] = round(o, 3)
            print(f"Dask overhead per task, {c}: ({med[c]:.1f} - {med['j2']:.1f} s) / {tasks} "
                  f"= {o:+.2f} s")
        elif c in med:
            print(f"Dask overhead per task, {c}: needs j2 in --only")
    out["projection"] = {}
    if "j2" in med:
        per_nb = med["j2"] / tasks
        print(f"\nProjection from the measured local jobs=2 cost, {per_nb:.2f} s per notebook on "
              f"this {os.cpu_count()}-core machine, assuming linear scaling across machines "
              "(no coordinator, gradebook or network limit):")
        if aids != course_aids:
            print(f"  (cost measured on {', '.join(aids)} only, projected as "
                  f"{NOTEBOOKS_PER_STUDENT} notebooks per student)")
        for n in PROJECT_STUDENTS:
            nbs = n * NOTEBOOKS_PER_STUDENT
            cells = []
            for m in PROJECT_MACHINES:
                s = nbs * per_nb / m
                out["projection"][f"{n}_students_{m}_machines_s"] = round(s, 1)
                cells.append(f"{m} machine{'s' if m > 1 else ''}: {hms(s)}")
            print(f"  {n:,} students x {NOTEBOOKS_PER_STUDENT} notebooks ({nbs:,}): "
                  + ", ".join(cells))
    else:
        print("Projection: needs j2 in --only")
    same, rows = compare_grades(grades)
    out["same_grades"] = same if len(grades) > 1 else None
    out["grade_differences"] = [{"student": s, "assignment": a,
                                 "totals": {f"{c}#{r}": v for (c, r), v in vals.items()}}
                                for (s, a), vals in rows]
    if len(grades) > 1:
        print(f"\nsame grades: {'yes' if same else 'no'} "
              f"({len(grades)} gradebooks, {len({k for g in grades.values() for k in g})} "
              "(student, assignment) totals each)")
        if not same:
            runs = sorted(grades)
            print("  " + f"{'student/assignment':<26}" + "".join(f"{c}#{r:<4}"[:14].rjust(15)
                                                               for c, r in runs))
            for (s, a), vals in rows:
                print("  " + f"{s + '/' + a:<26}" + "".join(
                    f"{'-' if vals[cr] is None else vals[cr]:>15}" for cr in runs))
    else:
        print("\nsame grades: - (only one gradebook; the floor has none)")
    print(json.dumps(out))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
