"""Kernels started ahead of need (``nncourse/kernel/warm.py``), through the real pipeline.

One grading process (``grade -j 1``) grades four a1_loss submissions in turn, so each
notebook after the first runs in a kernel that started while the previous one ran.  Every
student's notebook begins with a cell that first looks for what an earlier student could have
left (files in the working directory, /tmp and /dev/shm, names in ``builtins``, environment
variables, a process), then leaves all of those itself.  Required: nothing of one student is
seen by another (a warm kernel has run no one's code), each kernel's working directory holds
exactly that student's working copy, every notebook gets full marks, and the kernels after
the first were started ahead.
"""
import json

import nbformat
import pytest

from conftest import configured_copy

from nncourse.build import ensure_built, release_notebook
from nncourse.cohort import reference_submission
from nncourse.core.records import load_result
from nncourse.grade.run import grade
from nncourse.kernel import sandbox

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AID = "a1_loss"
FULL = 7.0
STUDENTS = ["w1", "w2", "w3", "w4"]
pytestmark = pytest.mark.slow

PROBE = '''
import builtins, glob, json, os, subprocess, sys
found = {
    "cwd": sorted(os.listdir(".")),
    "files": sorted(glob.glob("/tmp/leak-*") + glob.glob("/dev/shm/leak-*") + glob.glob("leak-*")),
    "builtins": sorted(k for k in dir(builtins) if k.startswith("LEAK_")),
    "env": sorted(k for k in os.environ if k.startswith("LEAK_")),
    "procs": sum(1 for p in os.listdir("/proc") if p.isdigit() and
                 b"leak-sleeper" in open(f"/proc/{p}/cmdline", "rb").read()),
}
print("PROBE " + json.dumps(found))
for d in ("/tmp", "/dev/shm", "."):
    open(f"{d}/leak-NAME", "w").write("NAME")
setattr(builtins, "LEAK_NAME", 1)
os.environ["LEAK_NAME"] = "1"
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)  # leak-sleeper"])
'''


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    if not sandbox.available():
        pytest.fail(f"the sandbox is needed here: {sandbox.unavailable_reason()}")
    base = tmp_path_factory.mktemp("warm")
    course = configured_copy(ROOT, base / "course", "\nCELL_TIMEOUT_S = 30\nNOTEBOOK_TIMEOUT_S = 120\n")
    ensure_built(course, [AID])
    name = release_notebook(course, AID).name
    for student in STUDENTS:
        nb = reference_submission(course, AID)
        nb.cells.insert(0, nbformat.v4.new_code_cell(PROBE.replace("NAME", student)))
        dest = course.submitted_dir(student, AID)
        dest.mkdir(parents=True)
        nbformat.write(nb, dest / name)
    run = grade(course, [AID], jobs=1, force=True, progress=False, report=False)
    return course, name, run


def probe_of(course, name, student):
    nb = nbformat.read(course.autograded_dir(student, AID) / name, as_version=4)
    text = "".join(o.get("text", "") for o in nb.cells[0].get("outputs", []))
    line = next(ln for ln in text.splitlines() if ln.startswith("PROBE "))
    return json.loads(line[len("PROBE "):])


def test_every_notebook_is_graded_in_full(graded):
    _, _, run = graded
    got = {r["student"]: (r["status"], r["score"], r.get("error")) for r in run.results}
    assert got == {s: ("graded", FULL, None) for s in STUDENTS}, got


def test_kernels_after_the_first_were_started_ahead(graded):
    course, _, _ = graded
    warm = [load_result(course, AID, s)["warm_kernels"] for s in STUDENTS]
    assert sorted(warm) == [0, 1, 1, 1], warm          # one grading process: only its first is cold


def test_no_student_sees_what_another_left(graded):
    course, name, _ = graded
    for student in STUDENTS:
        found = probe_of(course, name, student)
        copy = sorted(p.name for p in course.autograded_dir(student, AID).iterdir())
        assert name in copy and found["cwd"] == copy, (student, copy, found)   # exactly its own
        assert found["files"] == [] and found["builtins"] == [] and found["env"] == [], \
            (student, found)
        assert found["procs"] == 0, (student, found)
