"""Grading where instructors are: Debian's own python3 and an account without root (issue 17).

The account (``nncourse-ci`` when the tests run as root, see tests/nonroot.py) sets up its
own copy of the repository with the README's command and ``/usr/bin/python3``, then grades
honest cohorts through the real ``nncourse grade``: every submission must get full
automatic points, the same as this machine's python grading as root gives them.
"""
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nonroot import DEBIAN_PYTHON, ROOT, output, popen_as_user, run_as_user

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
COHORT = ["a1_loss", "a2_gradient"]
GRADE_TIMEOUT_S = 900
HOLDER_THREADS = 150          # more than KERNEL_MAX_PROCESSES (128): the instructor's own load


def version(python, as_user=None):
    code = ["-c", "import platform; print(platform.python_version())"]
    if as_user is None:
        return subprocess.run([str(python), *code], check=True, capture_output=True,
                              text=True).stdout.strip()
    proc = run_as_user([python, *code], cwd=as_user.root)
    assert proc.returncode == 0, output(proc)
    return proc.stdout.strip()


def warning_wall(text):
    """The lines of setuptools' boxed warnings (``!!`` fences, ``...Warning:`` headers)."""
    return [line for line in text.splitlines()
            if line.strip() == "!!" or "setuptools" in line and "Warning" in line]


def cohort_as_user(prepared, name, count, aids):
    """As the account: a course copy with ``count`` honest students in its own folder."""
    dest = prepared.root.parent / name
    if dest.exists():
        run_as_user(["rm", "-rf", dest], cwd=prepared.root)
    proc = run_as_user([prepared.python, "tests/nonroot.py", "cohort", dest, count, *aids],
                       cwd=prepared.root)
    assert proc.returncode == 0, output(proc)
    return dest


def grade_as_user(prepared, dest, aids):
    start = time.monotonic()
    proc = run_as_user([prepared.nncourse, "grade", *aids, "-j", "2", "--no-progress"],
                       cwd=dest, timeout=GRADE_TIMEOUT_S)
    print(f"\n[nonroot] nncourse grade {' '.join(aids)} as {prepared.account.name}: "
          f"{time.monotonic() - start:.1f} s")
    scores = run_as_user([prepared.python, "tests/nonroot.py", "scores", dest, *aids],
                         cwd=prepared.root)
    assert scores.returncode == 0, output(scores)
    return proc, json.loads(scores.stdout)


def assert_full_points(proc, scores, count, aids):
    assert proc.returncode == 0, output(proc)
    assert "NOT GRADED" not in proc.stdout and "GRADER FAILED" not in proc.stdout, output(proc)
    assert len(scores) == count * len(aids), scores
    for key, r in scores.items():
        assert r is not None and r["status"] == "graded", (key, r, output(proc))
        assert r["auto_max"] > 0 and r["score"] == r["auto_max"], (key, r, output(proc))


def test_setup_with_debian_python_as_unprivileged_user(nonroot_setup):
    setup = nonroot_setup.setup
    assert setup.returncode == 0, output(setup)
    assert nonroot_setup.python.is_file()
    assert version(nonroot_setup.python, nonroot_setup) == version(DEBIAN_PYTHON)
    cfg = (nonroot_setup.root / ".venv" / "pyvenv.cfg").read_text()
    assert "home = /usr/bin\n" in cfg, cfg                  # made by Debian's interpreter
    wall = warning_wall(setup.stdout + setup.stderr)
    assert wall == [], output(setup)


def test_grading_as_unprivileged_user_with_debian_python(nonroot_course, tmp_path):
    count = 2
    dest = cohort_as_user(nonroot_course, "cohort-debian", count, COHORT)
    proc, scores = grade_as_user(nonroot_course, dest, COHORT)
    assert_full_points(proc, scores, count, COHORT)
    # the same cohort, graded as root by this machine's python (the tests' venv)
    mine = tmp_path / "cohort-root"
    made = subprocess.run([sys.executable, ROOT / "tests" / "nonroot.py", "cohort", mine,
                           str(count), *COHORT], capture_output=True, text=True)
    assert made.returncode == 0, output(made)
    graded = subprocess.run([BIN / "nncourse", "grade", *COHORT, "-j", "2", "--no-progress"],
                            cwd=mine, capture_output=True, text=True, timeout=GRADE_TIMEOUT_S)
    read = subprocess.run([sys.executable, ROOT / "tests" / "nonroot.py", "scores", mine,
                           *COHORT], capture_output=True, text=True)
    assert read.returncode == 0, output(read)
    reference = json.loads(read.stdout)
    assert_full_points(graded, reference, count, COHORT)
    assert scores == reference


def test_instructor_threads_do_not_stop_grading(nonroot_course):
    """The instructor's own processes (an editor, a Jupyter, ...) hold threads of their uid
    while grading runs: a kernel's process limit must not count them."""
    hold = ("import sys, threading, time\n"
            f"for _ in range({HOLDER_THREADS}):\n"
            "    threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()\n"
            "print('ready', flush=True)\n"
            "sys.stdin.read()\n")
    holder = popen_as_user([nonroot_course.python, "-c", hold], cwd=nonroot_course.root,
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        status = Path(f"/proc/{holder.pid}/status").read_text()
        threads = int(next(line.split()[1] for line in status.splitlines()
                           if line.startswith("Threads:")))
        assert threads > HOLDER_THREADS
        count = 3
        dest = cohort_as_user(nonroot_course, "cohort-threads", count, ["a1_loss"])
        proc, scores = grade_as_user(nonroot_course, dest, ["a1_loss"])
        assert holder.poll() is None                         # the threads lived throughout
        assert_full_points(proc, scores, count, ["a1_loss"])
    finally:
        holder.kill()
        holder.communicate()
