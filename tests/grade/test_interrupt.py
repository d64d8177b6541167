"""Ctrl-C while grading, and two grade runs at once on one course (issue 16, parts 2 and 3).

Both through the real ``nncourse grade`` command on small a1_loss cohorts:

- SIGINT after the first result was merged: exit status 130, one line saying how many were
  merged (no traceback), no process of the run left (workers, bwrap, kernels), the gradebook
  consistent; the next run skips what was merged and grades the rest, each student once;
- two runs started together: the second is refused at once with a message naming the first
  (pid, host, start time, command), exit status 75; the first grades everyone once.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from conftest import configured_copy

from nncourse.build import ensure_built, release_notebook
from nncourse.cohort import reference_submission

from nncourse.core.records import load_result

ROOT = Path(__file__).resolve().parents[2]
AID = "a1_loss"
FULL = 7.0
pytestmark = pytest.mark.slow


def make_course(base, students):
    course = configured_copy(ROOT, base / "course", "\nCELL_TIMEOUT_S = 10\nNOTEBOOK_TIMEOUT_S = 90\n")
    ensure_built(course, [AID])
    for student in students:
        dest = course.submitted_dir(student, AID)
        dest.mkdir(parents=True)
        nbformat.write(reference_submission(course, AID), dest / release_notebook(course, AID).name)
    return course


def start_grade(course, marker, *extra):
    env = dict(os.environ, NNCOURSE_TEST_RUN=marker)
    return subprocess.Popen([sys.executable, "-m", "nncourse.cli", "--course-dir", str(course.root),
                             "grade", "--no-progress", "--jobs", "2", *extra, AID],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def results(course):
    return sorted((course.state_dir / "results" / AID).glob("*.json")) \
        if (course.state_dir / "results" / AID).is_dir() else []


def process_table():
    """{pid: (ppid, start time)} of this machine's running processes.  A zombie (state Z:
    ended, not yet reaped) is left out: an orphan's zombie waits for pid 1, which on some
    machines (this one's firecracker init) reaps only every few seconds."""
    table = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = Path(f"/proc/{name}/stat").read_bytes()
            except OSError:
                continue
            fields = stat[stat.rindex(b")") + 2:].split()
            if fields[0] in (b"Z", b"X"):
                continue
            table[int(name)] = (int(fields[1]), int(fields[19]))
    return table


def descendants(pid):
    """(pid, start time) of every process below ``pid`` now."""
    table, found, todo = process_table(), set(), [pid]
    while todo:
        p = todo.pop()
        for child, (ppid, start) in table.items():
            if ppid == p:
                found.add((child, start))
                todo.append(child)
    return found


def with_marker(marker):
    """Processes whose environment holds the run's marker (those this uid may read)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != os.getpid():
            try:
                env = Path(f"/proc/{name}/environ").read_bytes()
            except OSError:
                continue
            if f"NNCOURSE_TEST_RUN={marker}".encode() in env.split(b"\0"):
                found.append(int(name))
    return found


def gradebook_submissions(course):
    """(student, score, whether its grades are exactly the source's graded cells), sorted."""
    from nbgrader import utils as nbutils
    from nbgrader.api import Gradebook
    ids = sorted(c.metadata.nbgrader["grade_id"] for c in course.read_source(AID).cells
                 if nbutils.is_grade(c) or nbutils.is_task(c))
    with Gradebook(course.db_url, course.course_id) as gb:
        return sorted((s.student.id, float(s.score),
                       sorted(g.name for g in s.notebooks[0].grades) == ids)
                      for s in gb.find_assignment(AID).submissions)


def test_ctrl_c_stops_cleanly_and_the_next_run_resumes(tmp_path):
    students = [f"s{i}" for i in range(1, 6)]
    course = make_course(tmp_path, students)
    marker = uuid.uuid4().hex
    proc = start_grade(course, marker)
    deadline = time.monotonic() + 600
    while not results(course) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()
    assert results(course), "no result merged in time"
    tree = descendants(proc.pid)
    assert len(tree) >= 2                              # the workers (and their kernels)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in out + err, err
    m = re.search(r"Interrupted: (\d+) of 5 submission\(s\) merged; run `nncourse grade` "
                  r"again to grade the rest", err)
    assert m, err
    assert len(err.strip().splitlines()) == 1, err
    merged = int(m.group(1))
    assert 1 <= merged < 5
    time.sleep(1)
    table = process_table()
    left = [(p, s) for p, s in tree if p in table and table[p][1] == s]
    assert not left, [(p, Path(f"/proc/{p}/stat").read_bytes()[:120]) for p, _ in left
                      if Path(f"/proc/{p}/stat").exists()]
    assert not with_marker(marker)
    done = [json.loads(p.read_text(encoding="utf-8")) for p in results(course)]
    assert len(done) == merged and all(r["status"] == "graded" for r in done)
    graded = {r["student"] for r in done}
    assert [s for s, _, _ in gradebook_submissions(course)] == sorted(graded)

    again = start_grade(course, marker)
    out, err = again.communicate(timeout=900)
    assert again.returncode == 0, out[-3000:] + err[-3000:]
    assert f"skipped {merged} unchanged" in out, out
    for student in students:
        r = load_result(course, AID, student)
        assert (r["status"], r["score"]) == ("graded", FULL), student
    assert gradebook_submissions(course) == [(s, FULL, True) for s in students]


def test_second_run_is_refused_naming_the_first(tmp_path):
    students = ["t1", "t2", "t3"]
    course = make_course(tmp_path, students)
    first = start_grade(course, uuid.uuid4().hex)
    lock = course.state_dir / "grade.lock"
    deadline = time.monotonic() + 120
    while not (lock.is_file() and lock.stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.05)
    second = start_grade(course, uuid.uuid4().hex, "--force")
    out2, err2 = second.communicate(timeout=300)
    out1, err1 = first.communicate(timeout=900)
    assert first.returncode == 0, out1[-3000:] + err1[-3000:]
    assert second.returncode == 75, (out2, err2)
    assert f"another `nncourse grade` is running on this course (pid {first.pid} on " in err2
    assert re.search(r"started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: nncourse .*grade --no-progress "
                     r"--jobs 2 a1_loss\)", err2), err2
    assert "Traceback" not in err2 and out2 == ""
    assert gradebook_submissions(course) == [(s, FULL, True) for s in students]
    assert not lock.read_text()                         # released, holder cleared
    third = start_grade(course, uuid.uuid4().hex)       # and the course is free again
    out3, err3 = third.communicate(timeout=300)
    assert third.returncode == 0 and "skipped 3 unchanged" in out3, out3 + err3
