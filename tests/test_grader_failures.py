"""A run that the grading machinery fails says so: exit status, one English line naming the
cause in the summary and the report, and a page that does not blame the student.

The failure is real: every grading process is given a scratch folder it cannot create
(``NNCOURSE_SCRATCH`` under a regular file), so every task raises in the grader, as the
tar extraction of Debian 12's Python 3.11.2 once did."""
import os
import subprocess
import sys
from pathlib import Path

from nncourse.cohort import create_cohort
from nncourse.course import Course, copy_course
from nncourse.build import build
from nncourse.grading.task import GRADER_JA

TOY = Path(__file__).resolve().parent / "fixtures" / "toy_course"
NNCOURSE = [sys.executable, "-m", "nncourse.cli"]


def broken_env(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the grader wants a folder\n")
    return dict(os.environ, NNCOURSE_SCRATCH=str(blocker / "scratch"))


def test_grade_where_every_task_fails_in_the_grader(tmp_path):
    course = Course.load(copy_course(TOY, tmp_path / "course"))
    build(course)
    create_cohort(course, [{"student": "s1", "kind": "reference"},
                           {"student": "s2", "kind": "reference"}])
    proc = subprocess.run(NNCOURSE + ["--course-dir", str(course.root), "grade", "-j", "2",
                                      "--no-progress"], capture_output=True, text=True,
                          env=broken_env(tmp_path), timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    n = len(course.assignments) * 2
    line = [ln for ln in out.splitlines() if ln.startswith("GRADER FAILED")]
    assert line and f"for {n} of {n} submission(s)" in line[0], out
    # the cause, in one line, not only in a log file
    assert "NotADirectoryError" in line[0] or "FileExistsError" in line[0], line[0]
    report = next((course.root / "reports").rglob("report.html")).read_text(encoding="utf-8")
    assert "採点システムの不具合 (grader failure)" in report and "NotADirectoryError" in report
    assert "再提出を依頼する" not in report        # nobody is told to ask students to resubmit
    pages = sorted((course.root / "feedback").rglob("*.html"))
    assert len(pages) == n
    for page in pages:
        assert GRADER_JA in page.read_text(encoding="utf-8")


def test_demo_exits_non_zero_when_the_grader_fails(tmp_path):
    course = Course.load(copy_course(TOY, tmp_path / "course"))
    proc = subprocess.run(NNCOURSE + ["--course-dir", str(course.root), "demo", "--dir",
                                      str(tmp_path / "demo"), "--no-progress"],
                          capture_output=True, text=True, env=broken_env(tmp_path), timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "GRADER FAILED" in proc.stdout
