"""The grading sandbox (nncourse/sandbox.py): what a student's code can reach while graded.

Fast tests check the bwrap command and the NumPy restore; the slow ones grade a "spy"
submission that tries to read the course's private files and reach the network, with the
sandbox and (``NNCOURSE_NO_SANDBOX=1``) without it, through ``nncourse grade``.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy
import pytest

from nncourse import sandbox
from nncourse.build import ensure_built, release_notebook
from nncourse.cohort import reference_submission
from nncourse.course import Course, copy_course

ROOT = Path(__file__).resolve().parent.parent
needs_bwrap = pytest.mark.skipif(not sandbox.available(), reason="bubblewrap not usable here")

# the spy's probes: name -> code that must fail inside the sandbox (it prints PROBE name ...)
PROBES = {
    "source": "open('{course}/source/a1_loss/loss_functions.ipynb').read()",
    "reference": "open('{course}/reference/losses.py').read()",
    "autograders": "open('{course}/autograders/a1_loss.py').read()",
    "gradebook": "open('{course}/gradebook.db', 'rb').read()",
    "other_student": "open('{course}/submitted/good_1/a1_loss/loss_functions.ipynb').read()",
    "checkout": f"open('{ROOT}/reference/losses.py').read()",
    "network": "__import__('socket').create_connection(('192.0.2.1', 80), timeout=2)",
    "write_course": "open('{course}/reference/pwned.py', 'w').write('x')",
}
SPY = "".join(f"try:\n    {code}\n    print('PROBE {name} REACHED')\nexcept Exception as e:\n"
              f"    print('PROBE {name} BLOCKED', type(e).__name__)\n" for name, code in PROBES.items())
SPY += ("import resource\nprint('PROBE rlimit_as', resource.getrlimit(resource.RLIMIT_AS)[0])\n")


def test_no_sandbox_env_turns_it_off(monkeypatch):
    monkeypatch.setenv("NNCOURSE_NO_SANDBOX", "1")
    assert sandbox.available() is False


def test_bwrap_command_hides_course_and_network(tmp_path):
    course = tmp_path / "course"
    args = sandbox.bwrap_args(tmp_path / "work", tmp_path / "k", [course], [], tmp_path / "b",
                              {"HOME": "/tmp/home"})
    text = " ".join(map(str, args))
    assert f"--tmpfs {course}" in text and "--unshare-net" in text
    assert f"--ro-bind {tmp_path / 'b'} {sandbox.BUNDLE_MOUNT}" in text
    assert "--unshare-pid" not in text            # ipykernel would exit (parent poller)
    assert text.index("--tmpfs /tmp") < text.index(f"--tmpfs {course}")


def test_restore_numpy_undoes_monkeypatching():
    from nncourse import kernel_boot
    original = numpy.allclose
    numpy.allclose = lambda *a, **k: True
    try:
        assert kernel_boot.restore_numpy() >= 1
        assert numpy.allclose is original
    finally:
        numpy.allclose = original


@needs_bwrap
def test_sandbox_hides_a_directory_and_the_network(tmp_path):
    secret = tmp_path / "course"
    secret.mkdir()
    (secret / "answer.txt").write_text("42")
    args = sandbox.bwrap_args(None, tmp_path / "k", [secret], [], tmp_path, {})
    (tmp_path / "k").mkdir()
    code = (f"import os, socket\nprint(os.listdir({str(secret)!r}))\n"
            "try:\n    socket.create_connection(('192.0.2.1', 80), timeout=2)\n    print('net')\n"
            "except OSError:\n    print('no net')\n")
    out = subprocess.run(args + [sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.split("\n")[:2] == ["[]", "no net"], out.stderr


@pytest.fixture(scope="module")
def spy_course(tmp_path_factory):
    course = Course.load(copy_course(ROOT, tmp_path_factory.mktemp("spy") / "course"))
    ensure_built(course, ["a1_loss"])
    name = release_notebook(course, "a1_loss").name
    for student in ("good_1", "spy"):
        nb = reference_submission(course, "a1_loss")
        if student == "spy":
            cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
            cell.source = SPY.replace("{course}", str(course.root)) + "\n" + cell.source
        dest = course.submitted_dir(student, "a1_loss")
        dest.mkdir(parents=True)
        nbformat.write(nb, dest / name)
    return course


def grade_cli(course, env=None):
    return subprocess.run([sys.executable, "-m", "nncourse.cli", "--course-dir", str(course.root),
                           "grade", "--force", "--no-progress", "--jobs", "2", "a1_loss"],
                          capture_output=True, text=True, env={**os.environ, **(env or {})})


def probes(course):
    nb = nbformat.read(course.autograded_dir("spy", "a1_loss") / "loss_functions.ipynb", 4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.outputs if o.get("output_type") == "stream")
    return dict(re.findall(r"PROBE (\S+) (\S+)", text))


@pytest.mark.slow
@needs_bwrap
def test_spy_reaches_nothing_in_the_sandbox_and_is_still_graded(spy_course):
    proc = grade_cli(spy_course)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert "NO SANDBOX" not in proc.stdout
    got = probes(spy_course)
    assert {k: got.get(k) for k in PROBES} == {k: "BLOCKED" for k in PROBES}, got
    limit = int(spy_course.setting("KERNEL_MEMORY_MIB")) * 1024 * 1024
    assert got["rlimit_as"] == str(limit)
    assert not (spy_course.root / "reference" / "pwned.py").exists()
    assert re.search(r"spy\s+7/11", proc.stdout), proc.stdout


@pytest.mark.slow
def test_without_sandbox_grading_goes_on_with_a_loud_warning(spy_course):
    proc = grade_cli(spy_course, {"NNCOURSE_NO_SANDBOX": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert proc.stdout.count("WARNING: NO SANDBOX") == 2          # top and bottom of summary
    assert re.search(r"good_1\s+7/11", proc.stdout), proc.stdout
    assert "NO SANDBOX" in (spy_course.root / "reports" / "a1_loss" / "report.html").read_text(
        encoding="utf-8")
    got = probes(spy_course)
    assert got["reference"] == "REACHED"          # what the warning is about
    assert got["rlimit_as"] != "-1"               # the rlimits still apply
    (spy_course.root / "reference" / "pwned.py").unlink(missing_ok=True)
