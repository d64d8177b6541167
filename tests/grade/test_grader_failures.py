"""A run that the grading machinery fails says so: exit status, one English line naming the
cause in the summary and the report, and a page that does not blame the student.

The failure is the one Debian 12's Python 3.11.2 once caused: the grading processes'
``tarfile.open`` for reading raises ``TypeError`` (a ``sitecustomize`` on their path), so
every task fails in the grader while the coordinator, which only writes archives, runs on."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import configured_copy

from nncourse.cohort import create_cohort
from nncourse.core.course import Course, copy_course
from nncourse.build import build
from nncourse.grade.task import GRADER_JA

TOY = Path(__file__).resolve().parents[1] / "fixtures" / "toy_course"
NNCOURSE = [sys.executable, "-m", "nncourse.cli"]
pytestmark = pytest.mark.slow       # three grading runs through the CLI
SITECUSTOMIZE = """
import tarfile
_open = tarfile.open
def _broken(*args, mode="r", **kwargs):
    if mode.startswith("r"):
        raise TypeError("TarFile.extractall() got an unexpected keyword argument 'filter' "
                        "(simulated)")
    return _open(*args, mode=mode, **kwargs)
tarfile.open = _broken
"""


def broken_env(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    path = os.pathsep.join(p for p in [str(site), os.environ.get("PYTHONPATH", "")] if p)
    return dict(os.environ, PYTHONPATH=path)


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
    assert "TypeError: TarFile.extractall() got an unexpected keyword argument" in line[0]
    report = next((course.root / "reports").rglob("report.html")).read_text(encoding="utf-8")
    assert "採点システムの不具合 (grader failure)" in report and "TypeError" in report
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


def test_a_kernel_that_cannot_start_is_the_graders_failure_and_leaves_nothing(tmp_path):
    """A kernel that dies before running any student code (here: an address-space limit too
    small for Python) is the grader's failure, named in one line; and the run leaves no
    folder in the temporary directory (kernel, boot and scratch folders all go, although the
    kernel never started), only the sandbox uid locks shared by every run."""
    course = configured_copy(TOY, tmp_path / "course",
                             "KERNEL_MEMORY_MIB = 40   # (test) too small for the kernel to start")
    build(course, ["t1_square"])
    create_cohort(course, [{"student": "s1", "kind": "reference"}], ["t1_square"])
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.run(NNCOURSE + ["--course-dir", str(course.root), "grade", "t1_square",
                                      "--no-progress"], capture_output=True, text=True,
                          env=dict(os.environ, TMPDIR=str(tmp)), timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "GRADER FAILED for 1 of 1" in proc.stdout
    assert "the kernel did not start" in proc.stdout
    assert sorted(os.listdir(tmp)) in ([], ["nncourse-sandbox-uids"]), os.listdir(tmp)
