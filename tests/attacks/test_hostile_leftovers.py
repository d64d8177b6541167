"""What one student submits costs only that student: the last gaps of issue 16.

One course copy, through the real commands (``nncourse collect``, ``grade``, ``similarity``):
two honest victims collected from a folder per student (``s1001``, ``s1002``) keep full marks
beside students who attack what is around the kernel:

- ``s1666`` (in the download): a student folder of 200,000 empty files (collect stops
  listing it at COLLECT_MAX_MEMBERS and refuses it alone);
- ``atk_many``: the same folder then moved into submitted/, 200,000 empty files beside an
  honest notebook (the coordinator stops listing at SUBMISSION_MAX_FILES x 10 entries, still
  finds the notebook, and says so on the student's page);
- ``atk_notes``: a link to /etc/passwd and a file name that is not UTF-8 beside an honest
  notebook (the notes about what was left out are on the student's page, and stay there when
  the feedback is rebuilt);
- ``atk_points``: a test cell whose ``points`` the student made 100 (restored, and said so:
  a REPAIRED line for the instructor, a Japanese note for the student);
- similarity never follows a link: ``atk_source`` (the submission folder is a link to the
  instructor's source/), ``atk_home`` (the student folder is a link to source/),
  ``atk_srcnb`` (the notebook is a link to the source notebook), ``atk_passwd`` (the
  notebook is a link to /etc/passwd).  The source holds a canary line that no student has.

The listing bounds are asserted on entries read (``os.scandir`` counted), not on time.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import configured_copy

from nncourse.build import ensure_built, release_notebook
from nncourse.cohort import reference_submission
from nncourse.core.course import Course
from nncourse.grade.merge import rebuild_feedback
from nncourse.core.records import load_result
from nncourse.core.submission import WALK_LIMIT, limits, scan
from nncourse.lms import archive, similarity
from nncourse.lms.sections import similar_submissions
from test_hostile_coordinator import PEAK_BOUND_KB, RSS_WRAPPER

ROOT = Path(__file__).resolve().parents[2]
AID = "a1_loss"
FULL, MAX = 7.0, 11.0                     # a1_loss: autograded points of the reference, all points
VICTIMS = ["s1001", "s1002"]
MANY = 200_000
CANARY = "SOURCE-CANARY-LEFTOVERS-16"
PASSWD = "root:x:0:0"
LINKS = ["atk_source", "atk_home", "atk_srcnb", "atk_passwd"]
TEST_SETTINGS = """
CELL_TIMEOUT_S = 10                       # (test)
NOTEBOOK_TIMEOUT_S = 90
SIMILARITY_COMMON_FRACTION = 1.0          # (test) every passage counts: identical code is similar
"""
pytestmark = pytest.mark.slow


def empty_files(folder, n):
    """``n`` empty files in ``folder``, made fast: hard links to a few empty files (a file
    system allows some 65,000 links to one inode)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        for i in range(n):
            name = f"f{i:06d}.txt"
            if i % 50_000 == 0:
                os.close(os.open(name, os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd))
                first = name
            else:
                os.link(first, name, src_dir_fd=fd, dst_dir_fd=fd)
    finally:
        os.close(fd)


class CountingScandir:
    """``os.scandir`` that counts the entries its iterators hand out (``entries``: in all,
    ``read``: {folder: entries})."""

    def __init__(self):
        self.real, self.entries, self.read = os.scandir, 0, {}

    def __call__(self, path="."):
        it, counter = self.real(path), self
        key = os.path.realpath(os.fsdecode(path)) if isinstance(path, (str, bytes, os.PathLike)) \
            else path

        class Counted:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                it.close()

            def __iter__(self):
                return self

            def __next__(self):
                entry = next(it)
                counter.entries += 1
                counter.read[key] = counter.read.get(key, 0) + 1
                return entry

            def close(self):
                it.close()
        return Counted()


def honest(course):
    """The reference answers, without the source's canary line."""
    nb = reference_submission(course, AID)
    for c in nb.cells:
        c.source = "\n".join(line for line in c.source.split("\n") if CANARY not in line)
    return nb


def cli(course, *args, wrapper=None):
    head = [sys.executable, "-c", wrapper] if wrapper else [sys.executable, "-m", "nncourse.cli"]
    return subprocess.run(head + ["--course-dir", str(course.root), *args],
                          capture_output=True, text=True)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile-leftovers")
    course = configured_copy(ROOT, base / "course", TEST_SETTINGS)
    [src_path] = course.source_dir(AID).glob("*.ipynb")
    src = nbformat.read(src_path, as_version=4)
    cell = next(c for c in src.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                == "sum_squared_error")
    cell.source = cell.source.replace("### BEGIN SOLUTION\n",
                                      f"### BEGIN SOLUTION\n    # {CANARY}\n", 1)
    assert CANARY in cell.source
    nbformat.write(src, src_path)
    course = Course.load(course.root)
    ensure_built(course, [AID])
    name = release_notebook(course, AID).name

    # collect: a folder per student; s1666's folder holds 200,000 files
    download = base / "download"
    for student in VICTIMS + ["s1666"]:
        (download / student).mkdir(parents=True)
        nbformat.write(honest(course), download / student / name)
    empty_files(download / "s1666", MANY)
    collected = cli(course, "collect", AID, str(download))
    counter = CountingScandir()
    with pytest.MonkeyPatch.context() as mp:          # what collect reads of that folder
        mp.setattr(os, "scandir", counter)
        with archive.open_download(download) as dl:
            listed = (sorted({e.parts[0] for e in dl.entries}), dict(dl.refused), counter)
    # the same 200,000 files (and an honest notebook) as a submission folder: moved, not made
    course.submitted_dir("atk_many", AID).parent.mkdir(parents=True)
    os.rename(download / "s1666", course.submitted_dir("atk_many", AID))

    def submit(student, nb=None):
        dest = course.submitted_dir(student, AID)
        dest.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb or honest(course), dest / name)
        return dest
    d = submit("atk_notes")
    os.symlink("/etc/passwd", d / "data.csv")
    with open(os.fsencode(d) + b"/memo\xff.txt", "wb") as f:
        f.write(b"x")
    nb = honest(course)
    test = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                == "test_sum_squared_error")
    test.metadata.nbgrader["points"] = 100
    submit("atk_points", nb)
    # links to the instructor's source and to a system file
    (course.root / "submitted" / "atk_source").mkdir()
    os.symlink(course.source_dir(AID), course.submitted_dir("atk_source", AID))
    os.symlink(course.root / "source", course.root / "submitted" / "atk_home")
    course.submitted_dir("atk_srcnb", AID).mkdir(parents=True)
    os.symlink(src_path, course.submitted_dir("atk_srcnb", AID) / name)
    course.submitted_dir("atk_passwd", AID).mkdir(parents=True)
    os.symlink("/etc/passwd", course.submitted_dir("atk_passwd", AID) / name)

    proc = cli(course, "grade", "--no-progress", "--jobs", "2", AID, wrapper=RSS_WRAPPER)
    peak = int(proc.stderr.rsplit("MAXRSS_KB ", 1)[1].split()[0]) \
        if "MAXRSS_KB" in proc.stderr else None
    similar = cli(course, "similarity", AID)
    results = {s: load_result(course, AID, s) for s in course.students([AID])}
    yield dict(course=course, download=download, collected=collected, listed=listed,
               proc=proc, peak=peak, similar=similar, results=results)
    shutil.rmtree(course.submitted_dir("atk_many", AID))   # 200,000 entries: not left behind


def page(course, student):
    return "".join(p.read_text(encoding="utf-8")
                   for p in sorted(course.feedback_dir(student, AID).glob("*.html")))


def test_collect_refuses_the_flooded_folder_alone(graded):
    out = graded["collected"]
    assert out.returncode == 1, out.stdout + out.stderr          # a folder was not placed
    assert "placed 2 notebook(s) from 2 student(s)" in out.stdout, out.stdout
    assert "s1666/: a folder of more than" in out.stdout and "COLLECT_MAX_MEMBERS" in out.stdout
    assert not graded["course"].submitted_dir("s1666", AID).exists()


def test_grading_finishes_victims_keep_full_marks(graded):
    proc, results = graded["proc"], graded["results"]
    assert graded["peak"] is not None, proc.stderr[-3000:]
    assert proc.returncode == 1, proc.stdout[-3000:]             # the links were not graded
    for student in VICTIMS + ["atk_many", "atk_notes", "atk_points"]:
        r = results[student]
        assert (r["status"], r["score"], r["max_score"]) == ("graded", FULL, MAX), (student, r)
    for student in LINKS:
        assert results[student]["status"] == "failed", student
        assert f"NOT GRADED {student}/{AID}" in proc.stdout, proc.stdout[-3000:]
    print(f"coordinator peak {graded['peak'] / 1024:.0f} MB")
    assert graded["peak"] < PEAK_BOUND_KB, f"coordinator peak {graded['peak'] / 1024:.0f} MB"


def test_coordinator_stops_listing_at_the_limit(graded, monkeypatch):
    course = graded["course"]
    max_files = limits(course)[2]
    budget = max_files * WALK_LIMIT
    counter = CountingScandir()
    monkeypatch.setattr(os, "scandir", counter)
    found = scan(course, AID, "atk_many")
    monkeypatch.undo()
    folder = os.path.realpath(course.submitted_dir("atk_many", AID))
    assert counter.read[folder] == budget + 1, counter.read      # not 200,001
    assert counter.entries < budget + 20, counter.read          # (the source's listing)
    names = [str(rel) for rel, _ in found.files]
    assert release_notebook(course, AID).name in names           # found wherever it is listed
    assert len(names) == max_files
    assert any(f"{budget} 個を超えている" in n for n in found.notes_ja), found.notes_ja
    assert len(found.notes_ja) <= 22, len(found.notes_ja)         # named up to 20, then counted
    r = graded["results"]["atk_many"]
    assert any(f"{budget} 個を超えている" in p for p in r["problems"]), r["problems"]
    assert any(p.startswith("ほかに ") for p in r["problems"]), r["problems"]


def test_collect_stops_listing_at_the_limit(graded, monkeypatch):
    members = archive.Limits().members
    placed, refused, counter = graded["listed"]
    assert placed == VICTIMS and "s1666/" in refused, (placed, refused)
    folder = os.path.realpath(graded["download"] / "s1666")
    assert members - 5 <= counter.read[folder] <= members, counter.read     # not 200,001
    # a folder with more than COLLECT_MAX_MEMBERS entries at its top: refused whole, early
    counter = CountingScandir()
    monkeypatch.setattr(os, "scandir", counter)
    with pytest.raises(archive.ArchiveError, match="at its top: nothing collected"):
        archive.open_download(graded["course"].submitted_dir("atk_many", AID))
    monkeypatch.undo()
    assert counter.entries == members + 1, counter.entries


def test_dropped_file_notes_are_on_the_students_page(graded):
    course = graded["course"]
    r = graded["results"]["atk_notes"]
    notes = ["data.csv はリンク (symlink) なので使いませんでした。",
             "ファイル名 memo\\xff.txt が UTF-8 でないため、このファイルは使いませんでした。"]
    for note in notes:
        assert note in r["problems"], r["problems"]
        assert note in page(course, "atk_notes")
        assert f"problem atk_notes/{AID}: {note}" in graded["proc"].stdout
    assert PASSWD not in page(course, "atk_notes")
    assert "個を超えている" in page(course, "atk_many")
    for v in VICTIMS:
        assert "使いませんでした" not in page(course, v)
    # the feedback rebuilt from the gradebook (after manual grading) keeps them
    assert rebuild_feedback(course, AID, "atk_notes") is not None
    for note in notes:
        assert note in page(course, "atk_notes")


def test_edited_points_are_restored_and_said(graded):
    course, proc = graded["course"], graded["proc"]
    r = graded["results"]["atk_points"]
    [cell] = [c for c in r["cells"] if c["grade_id"] == "test_sum_squared_error"]
    assert (cell["score"], cell["max_score"]) == (2.0, 2.0), cell
    ja = ("テストセル test_sum_squared_error の配点 (points) が変更されていたため、元に戻して採点しました "
          "(100 点 → 2 点)。")
    en = ("cell test_sum_squared_error: points changed in the submission (100 instead of 2): "
          "graded with the source's points")
    assert ja in r["problems"] and ja in page(course, "atk_points")
    assert r["repairs"] == [en]
    assert f"REPAIRED atk_points/{AID}: {en}" in proc.stdout
    for v in VICTIMS:
        assert load_result(course, AID, v)["repairs"] == []
        assert "REPAIRED " + v not in proc.stdout


def test_similarity_never_follows_links(graded):
    course, out = graded["course"], graded["similar"]
    assert out.returncode == 1, out.stderr[-3000:]       # some submissions were not read
    assert (f"nncourse: {len(LINKS)} submission(s) could not be read and were not compared: "
            f"{', '.join(sorted(LINKS))}") in out.stderr, out.stderr[-3000:]
    text = out.stdout
    assert "  s1001 ~ s1002: 100%" in text, text                  # the honest pair is compared
    assert f"not compared atk_source: the submission folder atk_source/{AID} is a symlink" in text
    assert "not compared atk_home: the submission folder atk_home is a symlink" in text
    for student in ("atk_srcnb", "atk_passwd"):
        assert (f"not compared {student}: no notebook read: loss_functions.ipynb is a "
                "symlink: left out") in text, text
    pairs = [line for line in text.splitlines() if " ~ " in line]
    assert not any(s in line for line in pairs for s in LINKS), pairs
    res = similarity.find_similar(course, AID)
    assert ("s1001", "s1002") in res.scores and set(LINKS) == {s for s, _ in res.not_compared}
    assert res.unreadable == sorted(LINKS)
    report = (course.root / "reports" / AID / "report.html").read_text(encoding="utf-8")
    fragment = "".join(html for _, html in similar_submissions(course, [AID]))
    for where in (text, report, fragment):
        assert CANARY not in where and PASSWD not in where
    assert "s1001 ~ s1002" in report and "Not compared" in report
    assert "atk_source: the submission folder" in report

