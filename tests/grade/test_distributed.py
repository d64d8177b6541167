"""Grading across processes and machines: local worker processes, a Dask LocalCluster, and a
``dask scheduler`` with ``dask worker`` processes started here on 127.0.0.1; faults (a
worker SIGKILLed mid-task, a submission that kills every worker, the coordinator killed
mid-run) and the same grades everywhere."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nncourse.build import build
from nncourse.cohort import cohort_of, create_cohort
from nncourse.core.course import Course, copy_course
from nncourse.grade.run import grade
from nncourse.grade.executors import DaskExecutor, LocalExecutor, compare_versions
from nncourse.grade.task import versions

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
AID = "a1_loss"
STUDENTS = ["s01_reference", "s02_release", "s03_sse_no_half", "s08_broken"]
POISON = "s99_poison"

pytestmark = pytest.mark.slow


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


class Cluster:
    """``dask scheduler`` and ``dask worker`` processes, each in its own process group."""

    def __init__(self, tmp, n_workers=2):
        self.port = _free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.tmp = Path(tmp)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.procs = {}
        self._start("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", str(self.port),
                                  "--no-dashboard"])
        for i in range(n_workers):
            self._start(f"w{i}", ["worker", self.address, "--nthreads", "1", "--name", f"w{i}",
                                  "--no-dashboard", "--host", "127.0.0.1",
                                  "--local-directory", str(self.tmp / f"w{i}")])
        from distributed import Client
        with Client(self.address, timeout="30s") as c:
            c.wait_for_workers(n_workers, timeout=90)

    def _start(self, name, args):
        log = open(self.tmp / f"{name}.log", "wb")
        self.procs[name] = subprocess.Popen([str(BIN / "dask"), *args], stdout=log,
                                            stderr=subprocess.STDOUT, env=_worker_env(),
                                            cwd=self.tmp, start_new_session=True)

    def kill(self, name):
        os.killpg(self.procs[name].pid, signal.SIGKILL)
        self.procs[name].wait()

    def close(self):
        for name in reversed(list(self.procs)):
            try:
                os.killpg(self.procs[name].pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.procs[name].wait()


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path / "cluster")
    yield c
    c.close()


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """A built course copy with a small a1 cohort and a fixed grading secret, not graded:
    each test grades a copy of it (the same seeds, so the same hidden inputs)."""
    dest = tmp_path_factory.mktemp("distributed") / "course"
    copy_course(ROOT, dest)
    course = Course.load(dest)
    build(course, [AID])
    entries = [e for e in cohort_of(course) if e["student"] in STUDENTS]
    create_cohort(course, entries, assignments=[AID])
    course.state_dir.mkdir(parents=True, exist_ok=True)
    (course.state_dir / "grading-secret").write_text("0" * 64)
    return dest


def _copy(cohort, dest):
    shutil.copytree(cohort, dest, symlinks=True)
    return Course.load(dest)


def gradebook_dump(course):
    """Every automatic and manual score, flag and comment of the gradebook, by names."""
    from nbgrader.api import Gradebook
    rows = {}
    with Gradebook(course.db_url, course.course_id) as gb:
        for sub in gb.find_assignment(AID).submissions:
            for nb in sub.notebooks:
                for g in nb.grades:
                    rows[(sub.student.id, nb.name, g.name)] = (
                        g.auto_score, g.manual_score, bool(g.needs_manual_grade))
                for c in nb.comments:
                    rows[(sub.student.id, nb.name, "comment", c.name)] = c.auto_comment
        n_subs = {s.student.id: 1 for s in gb.find_assignment(AID).submissions}
    return rows, n_subs


def outcome(course, run):
    """What must be equal across executors: gradebook, result records' grading content, CSV."""
    rows, _ = gradebook_dump(course)
    records = {r["student"]: (r["status"], r["score"], r["max_score"],
                              [(c["grade_id"], c["score"], c["message"]) for c in r["cells"]])
               for r in run.results}
    csv = (course.root / "reports" / AID / "grades.csv")
    return rows, records, csv.read_text(encoding="utf-8") if csv.exists() else None


@pytest.fixture(scope="module")
def baseline(cohort, tmp_path_factory):
    course = _copy(cohort, tmp_path_factory.mktemp("j1") / "course")
    run = grade(course, [AID], jobs=1, progress=False)
    return outcome(course, run)


def test_baseline_is_the_lectures_grading(baseline):
    rows, records, csv = baseline
    assert records["s01_reference"][:2] == ("graded", 7.0)     # 4 points wait for the teacher
    assert records["s02_release"][:2] == ("graded", 0.0)
    assert records["s03_sse_no_half"][1] < 7.0
    assert records["s08_broken"][0] == "failed"
    assert csv and "s01_reference" in csv


@pytest.mark.parametrize("how", ["local-j2", "dask-local", "dask-scheduler"])
def test_same_grades_everywhere(how, cohort, baseline, tmp_path, request):
    course = _copy(cohort, tmp_path / "course")
    if how == "local-j2":
        pids, blas = [], set()          # one long-lived worker process per job slot
        real = LocalExecutor.run

        def spy(self, tasks, inputs, load=None):
            for res in real(self, tasks, inputs, load):
                pids.append(res.worker.get("pid"))
                try:        # the environment it started with (the first result's worker
                    environ = Path(f"/proc/{pids[-1]}/environ").read_bytes()   # has more tasks)
                except OSError:                                # a slot that already ended
                    environ = b""
                if environ:                                    # (empty: ended, not reaped)
                    blas.add(tuple(v for v in environ.split(b"\0")
                                   if v.startswith(b"OPENBLAS_NUM_THREADS=")))
                yield res
        LocalExecutor.run = spy
        try:
            run = grade(course, [AID], jobs=2, progress=False)
        finally:
            LocalExecutor.run = real
        assert run.executor.startswith("local, 2")
        assert len(pids) == len(STUDENTS) and len(set(pids)) == 2
        assert blas == {(b"OPENBLAS_NUM_THREADS=1",)}     # one core a slot, as Dask's workers
    elif how == "dask-local":
        run = grade(course, [AID], jobs=2, progress=False, dask="local")
        assert run.executor == "dask (LocalCluster), 2 worker(s)"
    else:
        cluster = request.getfixturevalue("cluster")
        run = grade(course, [AID], jobs=2, progress=False, scheduler=cluster.address)
        assert run.executor == f"dask ({cluster.address}), 2 worker(s)"
    assert outcome(course, run) == baseline
    # each grading process started its next kernel while a notebook ran: at most its first
    # notebook waited for a kernel to start (kernel/warm.py)
    warm = [r.get("warm_kernels", 0) for r in run.results if r["status"] == "graded"]
    assert sum(warm) >= len(warm) - 2, warm         # (a broken notebook runs no kernel)


def _dask_processing(address):
    from distributed import Client
    with Client(address, timeout="10s") as c:
        return {w["name"]: len(c.processing().get(addr, ()))
                for addr, w in c.scheduler_info(n_workers=-1)["workers"].items()}


class WatchedDask(DaskExecutor):
    """The Dask executor, counting the submissions it holds: read (``load``) and not yet
    given back as a result."""

    def run(self, tasks, inputs, load=None):
        self.held = self.most_held = self.loads = 0

        def counted(task):
            self.loads += 1
            self.held += 1
            self.most_held = max(self.most_held, self.held)
            return load(task)
        for res in super().run(tasks, inputs, counted):
            self.held -= 1
            yield res


def test_worker_sigkilled_mid_task_loses_and_duplicates_nothing(cohort, baseline, cluster,
                                                                 tmp_path):
    """... with a window of 2 tasks in flight: the killed worker's task is run again
    elsewhere, the window moves on, and no more than 3 of the 4 submissions are ever held."""
    course = _copy(cohort, tmp_path / "course")
    killed = {}

    def killer():                       # SIGKILL w0 (nanny and worker) while it grades
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            try:
                busy = _dask_processing(cluster.address)
            except Exception:
                busy = {}
            if busy.get("w0"):
                time.sleep(1.5)         # inside the task: the kernel is running
                cluster.kill("w0")
                killed["at"] = time.monotonic()
                return
            time.sleep(0.2)
    th = threading.Thread(target=killer)
    th.start()
    executor = WatchedDask(cluster.address, jobs=2, window=2)
    try:
        run = grade(course, [AID], progress=False, executor=executor)
    finally:
        executor.close()
    th.join()
    assert killed, "w0 never got a task"
    # 2 in flight + the result being merged (the next task is submitted before the merge)
    assert executor.loads == len(STUDENTS) and executor.most_held == 3 and executor.held == 0
    rows, subs = gradebook_dump(course)
    assert subs == {s: 1 for s in STUDENTS if s != "s08_broken"}     # each merged once
    assert outcome(course, run) == baseline
    assert all(r["status"] == "graded" for r in run.results if r["student"] != "s08_broken")


def test_a_client_closed_during_the_run_does_not_hold_it(cohort, baseline, cluster, tmp_path):
    """The run follows its own client: another Client of the process, made after the
    executor's (so Dask's default) and closed while the run goes on, must not leave the run
    waiting forever (the killer thread's short-lived clients above once did, in CI)."""
    from distributed import Client
    course = _copy(cohort, tmp_path / "course")
    executor = DaskExecutor(cluster.address, jobs=2)
    other = Client(cluster.address, timeout="20s")         # now the process's default client

    real_run = DaskExecutor.run

    def run(self, tasks, inputs, load=None):
        def closing(task):                      # the run has begun: its results are awaited
            if other.status != "closed":
                other.close()
            return load(task)
        return real_run(self, tasks, inputs, closing)
    executor.run = run.__get__(executor)
    done = {}

    def grading():
        try:
            done["run"] = grade(course, [AID], progress=False, executor=executor)
        except BaseException as exc:            # reported by the assertion below
            done["error"] = exc
    th = threading.Thread(target=grading, daemon=True)
    th.start()
    th.join(timeout=300)
    try:
        assert not th.is_alive(), "the run waited for results that had come back"
        assert "error" not in done, done.get("error")
        assert other.status == "closed"
        assert outcome(course, done["run"]) == baseline
    finally:
        if not th.is_alive():
            executor.close()


POISON_CHECK = '''

# --- test-only: a check that kills the process it runs in for one submission ------------
_real_check_sum_squared_error = check_sum_squared_error


def check_sum_squared_error(sum_squared_error):
    try:
        probe = sum_squared_error.call(np.array([4242.0]), np.array([0.0]))
    except Exception:
        probe = None
    if probe == -1.0:
        import os
        import signal
        os.kill(os.getpid(), signal.SIGKILL)
    return _real_check_sum_squared_error(sum_squared_error)
'''


def _poisoned(cohort, dest):
    """A course copy whose trusted check kills its grading process for one submission (a
    stand-in for any submission that takes its grader down), and that submission."""
    course = _copy(cohort, dest)
    checks = course.root / "autograders" / "a1_loss.py"
    checks.write_text(checks.read_text(encoding="utf-8") + POISON_CHECK, encoding="utf-8")
    ref = course.submitted_dir("s01_reference", AID)
    bad = course.submitted_dir(POISON, AID)
    shutil.copytree(ref, bad)
    nb = next(bad.glob("*.ipynb"))
    text = nb.read_text(encoding="utf-8")
    marker = "def sum_squared_error(y, t):\\n"
    assert marker in text
    nb.write_text(text.replace(marker, marker + "    if y[0] == 4242: return -1.0\\n", 1),
                  encoding="utf-8")
    return course


@pytest.mark.parametrize("how", ["local", "dask-local"])
def test_submission_that_kills_every_worker_is_not_graded_and_the_others_are(how, cohort,
                                                                             tmp_path):
    course = _poisoned(cohort, tmp_path / "course")
    run = grade(course, [AID], jobs=2, progress=False, dask="local" if how != "local" else None)
    by = {r["student"]: r for r in run.results}
    bad = by[POISON]
    assert bad["status"] == "failed"
    assert "採点プロセスが" in bad["error"]               # Japanese, for the student
    assert "died" in bad["error_en"]                     # English, for the instructor
    assert by["s01_reference"]["status"] == "graded" and by["s01_reference"]["score"] == 7.0
    feedback = course.root / bad["feedback"][0]
    assert "採点できませんでした" in feedback.read_text(encoding="utf-8")
    if how == "local":
        assert "3 回" in bad["error"]


def test_coordinator_killed_mid_run_then_rerun_grades_only_what_is_missing(cohort, baseline,
                                                                             tmp_path):
    course = _copy(cohort, tmp_path / "course")
    results = course.state_dir / "results" / AID
    proc = subprocess.Popen([str(BIN / "nncourse"), "grade", AID, "-j", "1", "--no-progress"],
                            cwd=course.root, env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(list(results.glob("*.json"))) < 2:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = sorted(p.stem for p in results.glob("*.json"))
    assert 2 <= len(done) < len(STUDENTS), done
    run = grade(Course.load(course.root), [AID], jobs=2, progress=False)
    assert sorted(s for s, _ in run.skipped) == done              # merged results stand
    assert sorted(r["student"] for r in run.results) == sorted(set(STUDENTS) - set(done))
    _, subs = gradebook_dump(course)
    assert subs == {s: 1 for s in STUDENTS if s != "s08_broken"}
    rows, _, csv = outcome(course, run)
    assert rows == baseline[0] and csv == baseline[2]


def test_versions_differ_message():
    mine = versions()
    theirs = {"tcp://10.0.0.2:4000": {**mine, "nncourse": "0000", "host": "gpu7"},
              "tcp://10.0.0.3:4000": dict(mine)}
    lines = compare_versions(mine, theirs)
    assert len(lines) == 1 and "gpu7" in lines[0] and "nncourse '0000'" in lines[0]
