"""What one student submits costs only that student: the coordinator (issue #16).

One ``nncourse grade`` run (the CLI, in a subprocess that reports its own peak memory) on a
copy of the course grades two honest victims beside students whose submission folders hold
what used to stop the whole run or blow up the coordinator's memory:

- ``atk_badname``: a file whose name is not UTF-8 beside the notebook (was: UnicodeEncodeError,
  nobody graded);
- ``atk_links``: a symlink loop, symlinks to ``/proc/self/mem`` (reading it: EIO, was: OSError,
  nobody graded; as ``timestamp.txt``, which the report's deadlines read) and a symlink to a
  secret file outside the course;
- ``atk_surrogates``: a lone surrogate in a markdown answer and in an error message its code
  prints (was: the student not graded, "UnicodeEncodeError");
- ``atk_big``: 1.5 GB of (sparse) data files and more files than SUBMISSION_MAX_FILES beside
  an honest notebook (was: 7.8 GB peak in the coordinator);
- ``atk_big_notebook``: a 1 GB (sparse) notebook, over NOTEBOOK_MAX_BYTES (refused unread, and
  not read by the report's similarity section either);
- ``atk_dirlink``: the submission folder is a symlink to a folder outside the course;
- ``student\xff``: a student folder whose name is not UTF-8 (not graded, named in a warning).
"""
import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import configured_copy

from nncourse.build import ensure_built, release_notebook
from nncourse.cohort import reference_submission
from nncourse.core.course import tree_digest
from nncourse.core.records import load_result
from nncourse.core.submission import digest, scan

ROOT = Path(__file__).resolve().parents[2]
AID = "a1_loss"
FULL = 7.0                                    # a1_loss's autograded points (the reference)
VICTIMS = ["victim_1", "victim_2"]
MAX_FILES = 20
TEST_SETTINGS = f"""
CELL_TIMEOUT_S = 5                        # (test)
NOTEBOOK_TIMEOUT_S = 90
KERNEL_MEMORY_MIB = 1536
SUBMISSION_MAX_FILES = {MAX_FILES}
"""
PEAK_BOUND_KB = 600 * 1024      # the coordinator's peak RSS; honest cohort measured ~180 MB
SPARSE = 500 * 2**20            # three of them: 1.5 GB
# the peak is this process's own VmHWM: getrusage's ru_maxrss would also count the pytest
# process it was forked from (Linux keeps the larger maxrss across execve), which in the full
# suite is already over the bound
RSS_WRAPPER = ("import sys\nfrom nncourse.cli import main\nrc = main(sys.argv[1:])\n"
               "hwm = next(l for l in open('/proc/self/status') if l.startswith('VmHWM:'))\n"
               "print(f'MAXRSS_KB {hwm.split()[1]}', file=sys.stderr)\nsys.exit(rc)\n")
pytestmark = pytest.mark.slow


def tree_state(root):
    """{relative path: (kind, sha256 or link target)} without following links or reading
    anything but regular files (sparse files hashed by size only)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(os.fsencode(root)):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, os.fsencode(root))
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISREG(st.st_mode):
                if st.st_size > 10 * 2**20:
                    out[rel] = ("big", st.st_size, st.st_mtime_ns)
                else:
                    with open(p, "rb") as f:
                        out[rel] = ("file", hashlib.sha256(f.read()).hexdigest())
    return out


def put(course, student, nb=None):
    dest = course.submitted_dir(student, AID)
    dest.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb or reference_submission(course, AID), dest / release_notebook(course, AID).name)
    return dest


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile-coordinator")
    course = configured_copy(ROOT, base / "course", TEST_SETTINGS)
    ensure_built(course, [AID])
    for v in VICTIMS:
        put(course, v)
    # a file name that is not UTF-8
    d = put(course, "atk_badname")
    with open(os.fsencode(d) + b"/answer\xff\xfe.txt", "wb") as f:
        f.write(b"x")
    # links: a loop, /proc/self/mem (EIO when read), a secret outside the course
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("SECRET-CANARY-16", encoding="utf-8")
    d = put(course, "atk_links")
    os.symlink("loop", d / "loop")
    os.symlink("/proc/self/mem", d / "mem.txt")
    os.symlink(outside / "secret.txt", d / "secret.txt")
    os.symlink("/proc/self/mem", d / "timestamp.txt")   # read by deadlines (report, export)
    # lone surrogates: in a written answer (the notebook's JSON) and in an error message
    nb = reference_submission(course, AID)
    cell = next(c for c in nb.cells if c.cell_type == "code" and "def sum_squared_error" in c.source)
    cell.source += ("\ndef sum_squared_error(y, t):\n"          # the test's message quotes it
                    "    raise ValueError('bad \\udcff \\ud800 end')\n")
    text = nbformat.writes(nb)
    nbjson = json.loads(text)
    answer = next(c for c in nbjson["cells"] if c["cell_type"] == "markdown"
                  and c["metadata"].get("nbgrader", {}).get("solution"))
    answer["source"] = "損失関数の答え \ud800 です"
    d = course.submitted_dir("atk_surrogates", AID)
    d.mkdir(parents=True)
    (d / release_notebook(course, AID).name).write_text(json.dumps(nbjson, ensure_ascii=True),
                                                        encoding="ascii")
    # 1.5 GB of sparse data files and more files than SUBMISSION_MAX_FILES
    d = put(course, "atk_big")
    for i in range(3):
        with open(d / f"data{i}.bin", "wb") as f:
            f.truncate(SPARSE)
    for i in range(MAX_FILES + 5):
        (d / f"small_{i:02d}.txt").write_text(str(i), encoding="utf-8")
    # a notebook over NOTEBOOK_MAX_BYTES (20 MB by default), sparse: never to be read
    # (not by grading, nor by the report's similarity section)
    d = course.submitted_dir("atk_big_notebook", AID)
    d.mkdir(parents=True)
    with open(d / release_notebook(course, AID).name, "wb") as f:
        f.truncate(2**30)
    # a student folder whose name is not UTF-8 (made by hand, not by collect)
    bad = os.path.join(os.fsencode(course.root / "submitted"), b"student\xff", AID.encode())
    os.makedirs(bad)
    nbformat.write(reference_submission(course, AID),
                   os.path.join(bad, release_notebook(course, AID).name.encode()).decode(
                       "utf-8", "surrogateescape"))
    # the submission folder itself a link to a folder outside the course
    elsewhere = base / "elsewhere"
    elsewhere.mkdir()
    nbformat.write(reference_submission(course, AID), elsewhere / release_notebook(course, AID).name)
    (course.root / "submitted" / "atk_dirlink").mkdir()
    os.symlink(elsewhere, course.submitted_dir("atk_dirlink", AID))

    before = {"submitted": tree_state(course.root / "submitted"), "outside": tree_state(base),
              "course": tree_state(course.root / "reference") | tree_state(course.root / "autograders")}
    proc = subprocess.run([sys.executable, "-c", RSS_WRAPPER, "--course-dir", str(course.root),
                           "grade", "--no-progress", "--jobs", "2", AID],
                          capture_output=True)
    peak = int(proc.stderr.decode("utf-8", "replace").rsplit("MAXRSS_KB ", 1)[1].split()[0]) \
        if b"MAXRSS_KB" in proc.stderr else None
    results = {s: load_result(course, AID, s) for s in course.students([AID])}
    return dict(course=course, proc=proc, peak=peak, results=results, before=before, base=base)


def test_run_finishes_and_victims_keep_their_grades(graded):
    proc = graded["proc"]
    assert graded["peak"] is not None, proc.stderr[-3000:]      # the run did not crash
    out = proc.stdout.decode("utf-8")                           # printable, valid UTF-8
    assert proc.returncode == 1, out[-3000:]                    # two were not graded
    for v in VICTIMS:
        r = graded["results"][v]
        assert (r["status"], r["score"]) == ("graded", FULL), r
    assert "NOT GRADED atk_big_notebook/a1_loss: notebook loss_functions.ipynb is 1024.0 MB, " \
           "over NOTEBOOK_MAX_BYTES" in out
    assert "NOT GRADED atk_dirlink/a1_loss: the submission folder atk_dirlink/a1_loss is a symlink" in out
    assert "NOT GRADED submitted/student\\udcff/a1_loss: the student folder's name is not UTF-8" in out


def test_odd_files_are_left_out_with_a_note(graded):
    r = graded["results"]["atk_badname"]
    assert (r["status"], r["score"]) == ("graded", FULL)
    assert any("answer\\xff\\xfe.txt が UTF-8 でない" in p for p in r["problems"]), r["problems"]
    r = graded["results"]["atk_links"]
    assert (r["status"], r["score"]) == ("graded", FULL)
    for name in ("loop", "mem.txt", "secret.txt", "timestamp.txt"):
        assert f"{name} はリンク (symlink) なので使いませんでした。" in r["problems"], r["problems"]
    graded_dir = graded["course"].autograded_dir("atk_links", AID)
    assert not any("SECRET-CANARY-16" in p.read_text(encoding="utf-8", errors="replace")
                   for p in graded_dir.rglob("*") if p.is_file())


def test_lone_surrogates_are_replaced_not_fatal(graded):
    course, r = graded["course"], graded["results"]["atk_surrogates"]
    assert r["status"] == "graded", r.get("error")
    assert any("サロゲート" in p for p in r["problems"]), r["problems"]
    for c in r["cells"]:               # only the tests of the function that raises lose points
        if c["kind"] == "auto":
            lost = "sum_squared_error" in c["grade_id"]
            assert c["score"] == (0 if lost else c["max_score"]), c
    [msg] = [c["message"] for c in r["cells"] if "sum_squared_error" in c["grade_id"]]
    assert "bad \ufffd \ufffd end" in msg, msg
    [path] = course.autograded_dir("atk_surrogates", AID).glob("*.ipynb")
    text = path.read_bytes().decode("utf-8")                   # strict: valid UTF-8
    assert "損失関数の答え \ufffd です" in text
    for f in r["feedback"]:
        (course.root / f).read_bytes().decode("utf-8")


def test_large_files_bounded_memory(graded):
    r = graded["results"]["atk_big"]
    assert (r["status"], r["score"]) == ("graded", FULL)
    for i in range(3):
        assert any(p.startswith(f"data{i}.bin (500.0 MB) は提出全体の大きさの上限") for p in r["problems"])
    over = [p for p in r["problems"] if f"ファイル数の上限 ({MAX_FILES} 個)" in p]
    assert len(over) == 6, r["problems"]     # 25 small files, 19 fit beside the notebook
    assert graded["peak"] < PEAK_BOUND_KB, f"coordinator peak {graded['peak'] / 1024:.0f} MB"


def test_refused_submissions_say_why_in_japanese(graded):
    course = graded["course"]
    r = graded["results"]["atk_big_notebook"]
    assert r["status"] == "failed" and "大きすぎます" in r["error"] and "1024.0 MB" in r["error"]
    page = (course.root / r["feedback"][0]).read_text(encoding="utf-8")
    assert "大きすぎます" in page
    r = graded["results"]["atk_dirlink"]
    assert r["status"] == "failed" and "リンク (symlink)" in r["error"]


def test_nothing_outside_changes(graded):
    course, before = graded["course"], graded["before"]
    assert tree_state(course.root / "submitted") == before["submitted"]
    assert tree_state(course.root / "reference") | tree_state(course.root / "autograders") == \
        before["course"]
    now = tree_state(graded["base"])
    assert {k: v for k, v in now.items() if not k.startswith(b"course")} == \
        {k: v for k, v in before["outside"].items() if not k.startswith(b"course")}


def test_fingerprint_of_an_honest_submission_is_unchanged(graded):
    """The new streamed digest equals the old tree_digest: results stay current."""
    course = graded["course"]
    assert digest(scan(course, AID, "victim_1")) == tree_digest([course.submitted_dir("victim_1", AID)])
