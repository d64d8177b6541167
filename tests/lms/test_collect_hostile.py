"""Hostile and broken downloads through the real ``nncourse collect`` (issue 16).

A catalogue: each test builds a download (a Moodle or Canvas zip, a folder per student, an
nbgrader-named zip) in which honest students sit next to one or more hostile or broken files,
runs the venv's ``nncourse collect`` on a copy of the course, and checks every time that

- the honest students are placed, with their LMS times where the LMS gives them;
- each hostile file is refused or listed with its reason, and nothing of it is placed;
- the exit status is right (1: something could not be placed; 2: nothing could be read);
- no traceback, nothing written outside ``submitted/`` and collect's own record
  (``autograded/.nncourse/lms/``), nothing changed outside the course (a sentinel folder
  next to it), nothing left in the temporary folder.
"""
import csv
import glob
import hashlib
import io
import json
import os
import re
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from conftest import copy_course
from nncourse.core.course import Course
from nncourse.lms import deadlines, moodle

BIN = Path(sys.executable).parent
AID = "a1_loss"
NB = "loss_functions.ipynb"
RECORDS = Path("autograded") / ".nncourse" / "lms"
pytestmark = pytest.mark.slow       # ~2 min of collect runs through the CLI


# --- building downloads -----------------------------------------------------------------------
def notebook(who):
    """A small valid notebook whose text names its author."""
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(f"# answer of {who}\nx = 1"))
    return nbformat.writes(nb)


def make_zip(path, files):
    """``files``: {name: text or bytes or ZipInfo-tuple (ZipInfo, data)}."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            if isinstance(data, tuple):
                z.writestr(*data)
                continue
            info = zipfile.ZipInfo(name, (2026, 5, 1, 10, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return path


def zip_bytes(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def symlink_entry(name, target):
    """A zip entry stored as a symbolic link (as ``zip -y`` writes it)."""
    info = zipfile.ZipInfo(name, (2026, 5, 1, 10, 0, 0))
    info.create_system = 3
    info.external_attr = (0o120777 << 16)
    return (info, target)


def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def roster(tmp_path, rows=None):
    return write_csv(tmp_path / "roster.csv",
                     ["student_id", "name", "email", "canvas_user_id", "moodle_participant_id"],
                     rows or [["s0001", "山田 太郎", "yamada@example.ac.jp", "1111", "1001"],
                              ["s0002", "佐藤 花子", "sato@example.ac.jp", "2222", "1002"],
                              ["s0003", "鈴木 一郎", "suzuki@example.ac.jp", "3333", "1003"],
                              ["s0004", "高橋 美咲", "takahashi@example.ac.jp", "4444", "1004"]])


def moodle_roster(tmp_path, names):
    """Students s0001, s0002, ... with Moodle participant ids 1001, 1002, ... and ``names``."""
    return roster(tmp_path, [[f"s{i:04}", name, "", "", str(1000 + i)]
                             for i, name in enumerate(names, start=1)])


def worksheet(tmp_path, rows):
    return write_csv(tmp_path / "worksheet.csv", moodle.WORKSHEET_COLUMNS, [
        [f"Participant {pid}", name, "", "Submitted for grading", "", "7.00", "Yes", when, "-", ""]
        for pid, name, when in rows])


def moodle_name(pid, name):
    return f"{name}_{pid}_assignsubmission_file_"


HONEST_MOODLE = {f"{moodle_name(1001, '山田 太郎')}/{NB}": notebook("s0001"),
                 f"{moodle_name(1003, '鈴木 一郎')}/loss_functions (1).ipynb": notebook("s0003")}
HONEST_TIMES = [("1001", "山田 太郎", "Friday, 1 May 2026, 10:00 AM"),
                ("1003", "鈴木 一郎", "Saturday, 2 May 2026, 9:30 AM")]


# --- running collect and checking what it touched -------------------------------------------
def snapshot(root, skip=()):
    """{relative path: (kind, content digest or link target)} of everything under ``root``."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        if any(rel_dir == s or s in rel_dir.parents for s in skip):
            dirnames[:] = []
            continue
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            rel = p.relative_to(root)
            if any(rel == s or s in rel.parents for s in skip):
                continue
            if p.is_symlink():
                out[rel] = ("link", os.readlink(p))
            elif p.is_file():
                out[rel] = ("file", hashlib.sha256(p.read_bytes()).hexdigest())
            elif p.is_dir() and not any(rel in s.parents for s in skip):
                out[rel] = ("dir", "")
    return out


class Scene:
    """A course copy, a sentinel folder outside it and a private temporary folder."""

    def __init__(self, tmp_path, settings=""):
        self.tmp = tmp_path
        self.root = copy_course(tmp_path / "course")
        if settings:
            cfg = self.root / "course_config.py"
            cfg.write_text(cfg.read_text(encoding="utf-8") + "\n" + settings, encoding="utf-8")
        self.outside = tmp_path / "outside"
        self.outside.mkdir()
        (self.outside / "secret.txt").write_text("root:x:0:0:SECRET-OF-THE-SYSTEM\n")
        self.tmpdir = tmp_path / "tmpdir"
        self.tmpdir.mkdir()

    @property
    def course(self):
        return Course.load(self.root)

    def collect(self, path, *args, expect, env=None):
        """Run ``nncourse collect AID PATH ARGS``; check the exit status and the invariants."""
        course_before = snapshot(self.root, skip=(Path("submitted"), RECORDS))
        outside_before = snapshot(self.outside)
        source_before = snapshot(self.root / "source")
        environ = dict(os.environ, TMPDIR=str(self.tmpdir), **(env or {}))
        proc = subprocess.run([str(BIN / "nncourse"), "--course-dir", str(self.root), "collect",
                               AID, str(path), *args], capture_output=True, env=environ)
        out = proc.stdout.decode("utf-8", "replace")
        err = proc.stderr.decode("utf-8", "replace")
        assert "Traceback" not in err + out, err
        assert proc.returncode == expect, (proc.returncode, out, err)
        assert snapshot(self.root, skip=(Path("submitted"), RECORDS)) == course_before
        assert snapshot(self.outside) == outside_before
        assert snapshot(self.root / "source") == source_before
        assert list(self.tmpdir.iterdir()) == []
        self.out, self.err = out, err
        return out, err

    def submitted(self):
        """{student: {file name: text}} of what is in submitted/ for AID (dot folders apart)."""
        sub = self.root / "submitted"
        if not sub.is_dir():
            return {}
        return {p.name: {f.name: f.read_text("utf-8", "replace") for f in (p / AID).iterdir()}
                for p in sorted(sub.iterdir()) if not p.name.startswith(".") and (p / AID).is_dir()}

    def listed(self, fragment):
        """The output lines that mention ``fragment``."""
        return [line for line in self.out.splitlines() if fragment in line]

    def stamp(self, student):
        return (self.root / "submitted" / student / AID / "timestamp.txt").read_text()


def assert_honest_moodle(scene):
    got = scene.submitted()
    assert "answer of s0001" in got["s0001"][NB] and "answer of s0003" in got["s0003"][NB]
    assert scene.stamp("s0001") == "2026-05-01T01:00:00+00:00"       # 10:00 in Asia/Tokyo
    assert scene.stamp("s0003") == "2026-05-02T00:30:00+00:00"


# --- 1. links ---------------------------------------------------------------------------------
def test_links_are_never_followed(tmp_path):
    """A notebook that is a link to the instructor's source notebook, a link to a system file,
    a folder that is a link, in a folder per student; a zip entry stored as a link."""
    scene = Scene(tmp_path)
    src = scene.root / "source" / AID / NB
    folder = tmp_path / "download"
    for sid in ("u0001", "u0002", "u0004"):
        (folder / sid).mkdir(parents=True)
    (folder / "u0001" / NB).write_text(notebook("u0001"))
    (folder / "u0002" / NB).symlink_to(src)                       # the instructor's solutions
    (folder / "u0004" / NB).symlink_to(scene.outside / "secret.txt")
    (folder / "u0004" / "notes.ipynb").symlink_to(scene.outside)  # a link to a folder
    (folder / "u0003").symlink_to(scene.outside, target_is_directory=True)
    scene.collect(folder, expect=1)
    assert list(scene.submitted()) == ["u0001"]
    for name in ("u0002/loss_functions.ipynb", "u0004/loss_functions.ipynb", "u0003",
                 "u0004/notes.ipynb"):
        assert any("symbolic link" in line and "never follows" in line
                   for line in scene.listed(name)), (name, scene.out)
    assert "SECRET" not in scene.out

    # a Moodle zip with an entry stored as a link, next to honest students
    z = make_zip(tmp_path / "moodle.zip", {
        **HONEST_MOODLE,
        "link": symlink_entry(f"{moodle_name(1002, '佐藤 花子')}/{NB}", str(src)),
    })
    scene.collect(z, "--roster", roster(tmp_path), "--worksheet",
                  worksheet(tmp_path, HONEST_TIMES), expect=1)
    assert sorted(scene.submitted()) == ["s0001", "s0003", "u0001"]
    assert_honest_moodle(scene)
    assert scene.listed("a symbolic link stored in the zip")


# --- 2. not a zip ----------------------------------------------------------------------------
def test_a_file_that_is_not_a_zip_is_one_clear_error(tmp_path):
    scene = Scene(tmp_path)
    good = make_zip(tmp_path / "good.zip", HONEST_MOODLE).read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(good[:len(good) // 2])                      # a partial download
    text = tmp_path / "notes.txt"
    text.write_text("not a zip")
    nb = tmp_path / "s0001_loss_functions.ipynb"
    nb.write_text(notebook("s0001"))
    for path, hint in ((cut, "a partly downloaded zip: download it again"),
                       (text, "or a folder with one sub-folder per student"),
                       (nb, "put it in a folder named after the student "
                            "(FOLDER/<student id>/<notebook>.ipynb)")):
        _, err = scene.collect(path, expect=2)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("collect failed: "), err
        assert f"{path.name} is not a zip file that can be read" in err and hint in err, err
        assert scene.submitted() == {}
    # a roster or worksheet that cannot be read: one line too
    _, err = scene.collect(tmp_path / "good.zip", "--roster", tmp_path / "nope.csv", expect=2)
    assert err.strip() == f"collect failed: {tmp_path / 'nope.csv'}: cannot read it (No such " \
                          "file or directory)"
    assert scene.submitted() == {}


# --- 3. archive bombs -----------------------------------------------------------------------
def lying_zip(real, declared):
    """One entry whose headers declare ``declared`` bytes for ``real`` (deflated) bytes."""
    data = zip_bytes({NB: real})
    n = len(real)
    head, cd = struct.pack("<I", n), data.rfind(b"PK\x01\x02")
    out = bytearray(data)
    assert out[22:26] == head and out[cd + 24:cd + 28] == head     # local header, central dir
    out[22:26] = out[cd + 24:cd + 28] = struct.pack("<I", declared)
    return bytes(out)


def count_files(root):
    return sum(len(f) for _, _, f in os.walk(root))


def test_archive_bombs_are_refused_file_by_file(tmp_path):
    scene = Scene(tmp_path)
    many = zip_bytes({f"f{i:05}.txt": "" for i in range(10_001)})          # 10,001 files
    zeros = b"\0" * (30 << 20)                                               # 30 MiB of zeros
    level2 = zip_bytes({f"f{i}.ipynb": "x" for i in range(1000)})
    nested = zip_bytes({f"deeper{i}.zip": level2 for i in range(10)})        # 42.zip-style
    z = make_zip(tmp_path / "moodle.zip", {
        **HONEST_MOODLE,
        f"{moodle_name(1002, '佐藤 花子')}/many.zip": many,
        f"{moodle_name(1004, '高橋 美咲')}/{NB}": zeros,
        f"{moodle_name(1005, 'Bomb Nested')}/nested.zip": nested,
        f"{moodle_name(1006, 'Lying Sizes')}/lie.zip": lying_zip(notebook("x") * 2000, 100),
    })
    assert z.stat().st_size < 400_000
    before = count_files(scene.root)
    ros = moodle_roster(tmp_path, ["山田 太郎", "佐藤 花子", "鈴木 一郎", "高橋 美咲", "Bomb Nested",
                                   "Lying Sizes"])
    scene.collect(z, "--roster", ros, "--worksheet", worksheet(tmp_path, HONEST_TIMES), expect=1)
    assert sorted(scene.submitted()) == ["s0001", "s0003"]
    assert_honest_moodle(scene)
    # what was written: the two notebooks, their times and collect's record
    assert count_files(scene.root) - before == 5
    assert scene.listed("many.zip") and "COLLECT_MAX_MEMBERS" in scene.listed("many.zip")[0]
    assert "COLLECT_MAX_RATIO" in scene.listed("高橋 美咲")[0]
    deep = scene.listed("nested.zip/deeper")
    assert len(deep) == 10 and all("COLLECT_MAX_DEPTH" in line for line in deep)
    assert "cannot be read from the download" in scene.listed("lie.zip/")[0]
    assert "s0002, s0004, s0005, s0006" in scene.out, scene.out   # listed as without submission

    # a folder per student: one student's folder of 10,001 files is refused alone
    folder = tmp_path / "folders"
    (folder / "u0001").mkdir(parents=True)
    (folder / "u0001" / NB).write_text(notebook("u0001"))
    (folder / "u0002").mkdir()
    for i in range(10_001):
        (folder / "u0002" / f"{i}.txt").write_bytes(b"")
    (folder / "u0009").mkdir()
    (folder / "u0009" / NB).write_text(notebook("u0009"))
    scene.collect(folder, expect=1)
    assert sorted(scene.submitted()) == ["s0001", "s0003", "u0001", "u0009"]
    assert "COLLECT_MAX_MEMBERS" in scene.listed("u0002/")[0]

    # the limits are settings: a download over COLLECT_MAX_MEMBERS is refused whole
    small = Scene(tmp_path / "small", settings="COLLECT_MAX_MEMBERS = 2\n")
    _, err = small.collect(z, expect=2)
    assert "COLLECT_MAX_MEMBERS = 2" in err and small.submitted() == {}
    bad = Scene(tmp_path / "bad", settings="COLLECT_MAX_DEPTH = -1\n")
    _, err = bad.collect(z, expect=2)
    assert "COLLECT_MAX_DEPTH in course_config.py must be a whole number" in err
    bad = Scene(tmp_path / "bad2", settings="COLLECT_REGEXP = '(?P<student_id>'\n")
    _, err = bad.collect(z, expect=2)
    assert "COLLECT_REGEXP in course_config.py is not a regular expression" in err


def test_a_student_zip_is_opened_within_the_depth(tmp_path):
    """Moodle can hold a student's own zip: its notebook is that student's (COLLECT_MAX_DEPTH
    = 1); the names inside it never decide who it is."""
    scene = Scene(tmp_path)
    inner = zip_bytes({f"{moodle_name(1001, '山田 太郎')}/{NB}": notebook("s0002 in a zip")})
    z = make_zip(tmp_path / "m.zip", {**HONEST_MOODLE,
                                      f"{moodle_name(1002, '佐藤 花子')}work.zip": inner})
    scene.collect(z, "--roster", roster(tmp_path), expect=0)
    got = scene.submitted()
    assert "s0002 in a zip" in got["s0002"][NB] and "answer of s0001" in got["s0001"][NB]


# --- 4. times come from the LMS only ---------------------------------------------------------
def test_a_students_timestamp_never_sets_the_time(tmp_path):
    scene = Scene(tmp_path, settings='DUE_DATES = {"a1_loss": "2026-05-01T23:59:00+09:00"}\n'
                                     'LATE_PENALTY = {"policy": "per_day", "percent_per_day": 10,'
                                     ' "floor_percent": 0}\n')
    # a folder per student: a timestamp.txt in it (at the top or deeper) sets nothing
    folder = tmp_path / "folders"
    (folder / "u0007" / "sub").mkdir(parents=True)
    (folder / "u0007" / NB).write_text(notebook("u0007"))
    (folder / "u0007" / "timestamp.txt").write_text("2026-05-01 00:00:00")
    (folder / "u0007" / "sub" / "timestamp.txt").write_text("2026-05-01 00:00:00")
    (folder / "u0008").mkdir()
    (folder / "u0008" / NB).write_text(notebook("u0008"))
    scene.collect(folder, expect=0)
    assert sorted(scene.submitted()) == ["u0007", "u0008"]
    assert not (scene.root / "submitted" / "u0007" / AID / "timestamp.txt").exists()
    assert len(scene.listed("timestamp.txt")) == 2

    # Moodle: the worksheet's time, 43 days late, whatever the student's files say
    late = ("1002", "佐藤 花子", "Saturday, 13 June 2026, 10:00 AM")      # 43 days late
    z = make_zip(tmp_path / "m.zip", {
        **HONEST_MOODLE,
        f"{moodle_name(1002, '佐藤 花子')}/{NB}": notebook("s0002"),
        f"{moodle_name(1002, '佐藤 花子')}/timestamp.txt": "2026-05-01 10:00:00",
        f"{moodle_name(1002, '佐藤 花子')}/more.zip": zip_bytes(
            {"timestamp.txt": "2026-04-01T00:00:00+00:00"}),
    })
    scene.collect(z, "--roster", roster(tmp_path), "--worksheet",
                  worksheet(tmp_path, HONEST_TIMES + [late]), expect=0)
    assert_honest_moodle(scene)
    assert scene.stamp("s0002") == "2026-06-13T01:00:00+00:00"
    assert len(scene.listed("timestamp.txt")) == 2
    assert all("never from the student's files" in line for line in scene.listed("timestamp.txt"))
    assert deadlines.penalty(scene.course, AID, "s0002").days_late == 43
    rec = json.loads((scene.root / RECORDS / f"{AID}.json").read_text("utf-8"))
    assert rec["s0002"]["submitted_at"] == "2026-06-13T01:00:00+00:00"


# --- 5. who a file is: the LMS's part of its name --------------------------------------------
def test_a_students_file_name_never_makes_it_anothers(tmp_path):
    scene = Scene(tmp_path)
    # a Canvas download unpacked, the student's zip unpacked into a folder by the unzip tool
    folder = tmp_path / "canvas-folder"
    folder.mkdir()
    (folder / f"suzukiichiro_3333_5001_{NB}").write_text(notebook("s0003"))
    (folder / "satohanako_2222_5003_work").mkdir()
    (folder / "satohanako_2222_5003_work" / f"yamadataro_1111_4001_{NB}").write_text(
        notebook("s0002 folder as yamada"))
    scene.collect(folder, "--roster", roster(tmp_path), "--lms", "canvas", expect=0)
    assert sorted(scene.submitted()) == ["s0002", "s0003"]
    assert "s0002 folder as yamada" in scene.submitted()["s0002"][NB]

    # Canvas: 佐藤 (2222) uploads files named like 山田's (1111, who did not submit)
    canvas_zip = make_zip(tmp_path / "canvas.zip", {
        f"suzukiichiro_3333_5001_{NB}": notebook("s0003"),
        f"satohanako_2222_5002_yamadataro_1111_4000_{NB}": notebook("s0002 as yamada"),
        "satohanako_2222_5003_work.zip": zip_bytes(
            {f"yamadataro_1111_4001_{NB}": notebook("s0002 zip as yamada")}),
    })
    other = Scene(tmp_path / "other")
    other.collect(canvas_zip, "--roster", roster(tmp_path), expect=0)
    got = other.submitted()
    assert sorted(got) == ["s0002", "s0003"], other.out
    assert "s0002" in got["s0002"][NB] and "answer of s0003" in got["s0003"][NB]
    assert "s0001" in other.out.split("no submission from")[1]

    # Moodle: 佐藤 (1002) names files like 山田's (1001), folders and flat
    m = make_zip(tmp_path / "m.zip", {
        **{k: v for k, v in HONEST_MOODLE.items() if "1001" not in k},
        f"{moodle_name(1002, '佐藤 花子')}/{moodle_name(1001, '山田 太郎')}/{NB}": notebook("s0002 a"),
        f"{moodle_name(1004, '高橋 美咲')}{moodle_name(1001, '山田 太郎')}{NB}": notebook("s0004 b"),
    })
    third = Scene(tmp_path / "third")
    third.collect(m, "--roster", roster(tmp_path), expect=0)
    got = third.submitted()
    assert sorted(got) == ["s0002", "s0003", "s0004"]
    assert "s0002 a" in got["s0002"][NB] and "s0004 b" in got["s0004"][NB]

    # an nbgrader-named download: a name that looks like Moodle's does not switch the layout
    files = make_zip(tmp_path / "files.zip", {
        f"s0003_{NB}": notebook("s0003"),
        f"s0002_1001_assignsubmission_file_{NB}": notebook("s0002 as 1001"),
    })
    fourth = Scene(tmp_path / "fourth")
    fourth.collect(files, "--roster", roster(tmp_path), expect=1)
    assert sorted(fourth.submitted()) == ["s0003"]
    assert "not a notebook of a1_loss" in fourth.listed("s0002_1001")[0]


# --- 6. no made-up students ------------------------------------------------------------------
def test_an_ordinary_zip_creates_no_students(tmp_path):
    scene = Scene(tmp_path)
    z = make_zip(tmp_path / "homework.zip", {
        f"s0001_{NB}": notebook("s0001"),
        "homework_final.ipynb": notebook("homework"),
        f"report_{NB}": notebook("report"),
        NB: notebook("no id"),
        f"homework/{NB}": notebook("a folder that is no id"),
        "s0008/answers.ipynb": notebook("s0008"),
    })
    scene.collect(z, expect=1)
    assert sorted(scene.submitted()) == ["s0001", "s0008"]
    assert "'homework' does not look like a student id" in scene.listed("homework_final")[0]
    assert "'report' does not look like a student id" in scene.listed("report_")[0]
    assert "the folder 'homework' does not look like" in scene.listed(f"homework/{NB}")[0]
    assert "'loss' does not look like a student id" in scene.listed(f"  {NB}: ")[0]
    # with a roster only its ids are students
    other = Scene(tmp_path / "other")
    z = make_zip(tmp_path / "ids.zip", {f"s0001_{NB}": notebook("s0001"),
                                        f"s0099_{NB}": notebook("s0099"),
                                        "s0098/x.ipynb": notebook("s0098")})
    other.collect(z, "--roster", roster(tmp_path), expect=1)
    assert sorted(other.submitted()) == ["s0001"]
    assert "'s0099' is not in the roster" in other.listed("s0099")[0]
    assert "'s0098' is not in the roster" in other.listed("s0098")[0]


# --- 7. nothing good is lost -----------------------------------------------------------------
def test_an_unreadable_notebook_never_replaces_a_readable_one(tmp_path):
    scene = Scene(tmp_path)
    ros = roster(tmp_path)
    good_text = notebook("s0002 good")

    def canvas(att, text):
        return make_zip(tmp_path / f"c{att}.zip", {
            f"suzukiichiro_3333_5001_{NB}": notebook("s0003"),
            f"satohanako_2222_{att}_{NB}": text})
    good, bad = canvas(5002, good_text), canvas(5009, good_text[:len(good_text) // 2])
    scene.collect(good, "--roster", ros, expect=0)
    scene.collect(bad, "--roster", ros, expect=1)
    assert scene.submitted()["s0002"][NB] == good_text
    line = scene.listed("satohanako_2222_5009")[0]
    assert "not a readable notebook (not JSON" in line and "--replace" in line
    # the instructor says so: the old one goes to the backup folder
    scene.collect(bad, "--roster", ros, "--replace", expect=0)
    assert scene.submitted()["s0002"][NB] == good_text[:len(good_text) // 2]
    backups = list((scene.root / "submitted" / ".nncourse-backup" / "s0002" / AID).iterdir())
    assert len(backups) == 1 and (backups[0] / NB).read_text() == good_text
    assert scene.listed("the previous notebook is kept in submitted/.nncourse-backup/s0002")
    assert scene.listed("not a readable notebook")
    # the good download again: it replaces the unreadable one, though uploaded before it
    scene.collect(good, "--roster", ros, expect=0)
    assert scene.submitted()["s0002"][NB] == good_text
    assert len(list(backups[0].parent.iterdir())) == 2
    # the backups are no student, for nncourse and for nbgrader's submitted/*/<assignment>
    assert scene.course.students([AID]) == ["s0002", "s0003"]
    found = glob.glob(str(scene.root / "submitted" / "*" / AID))
    assert sorted(Path(p).parent.name for p in found) == ["s0002", "s0003"]

    # the files layout (no LMS times) keeps a readable notebook too, and backs up
    folder = tmp_path / "f"
    (folder / "s0002").mkdir(parents=True)
    (folder / "s0002" / NB).write_text("{\"cells\": [")
    scene.collect(folder, expect=1)
    assert scene.submitted()["s0002"][NB] == good_text


# --- 8. names ---------------------------------------------------------------------------------
def test_hostile_names_are_listed_and_never_written(tmp_path):
    scene = Scene(tmp_path)
    folder = tmp_path / "names"
    (folder / "s0001").mkdir(parents=True)
    (folder / "s0001" / NB).write_text(notebook("s0001"))
    (folder / "s0002").mkdir()
    os.close(os.open(os.fsencode(folder / "s0002") + b"/\xff\xfeloss.ipynb",
                     os.O_CREAT | os.O_WRONLY, 0o644))
    (folder / "s0003").mkdir()
    (folder / "s0003" / "loss\nfunctions\x1b[31m.ipynb").write_text(notebook("s0003"))
    (folder / "s0004").mkdir()
    (folder / "s0004" / ("あ" * 80 + ".ipynb")).write_text(notebook("s0004 long"))
    scene.collect(folder, expect=1, env={"PYTHONIOENCODING": "ascii", "LC_ALL": "C"})
    got = scene.submitted()
    assert sorted(got) == ["s0001", "s0004"] and "s0004 long" in got["s0004"][NB]
    assert "not valid UTF-8" in scene.listed("s0002/")[0] and "\\udcff" in scene.out
    assert "control characters" in scene.listed("s0003/")[0] and "\\x1b" in scene.out

    z = make_zip(tmp_path / "n.zip", {
        **HONEST_MOODLE,
        f"../../{NB}": notebook("up"),
        f"/tmp/{NB}": notebook("abs"),
        f"{moodle_name(1002, '佐藤 花子')}/../../../{NB}": notebook("s0002 up"),
        f"{moodle_name(1004, '高橋 美咲')}/{'x' * 3000}.ipynb": notebook("s0004 long zip"),
        f"{moodle_name(1005, 'Ctl')}/a\rb.ipynb": notebook("ctl"),
    })
    other = Scene(tmp_path / "other")
    other.collect(z, "--roster", roster(tmp_path), "--lms", "moodle", "--worksheet",
                  worksheet(tmp_path, HONEST_TIMES), expect=1)
    assert sorted(other.submitted()) == ["s0001", "s0003"]
    assert_honest_moodle(other)
    assert len(other.listed("leaves the download")) == 3
    assert "control characters" in other.listed("Ctl_1005")[0]
    # a name no file system has: refused (the regular expressions never see it), printed cut
    assert re.search(r"x…x+\.ipynb \(3\d\d\d characters\): a name longer than 255", other.out)
    assert not (tmp_path / NB).exists()
    assert max(len(line) for line in other.out.splitlines()) < 400


# --- 9. one bad file costs only that file ----------------------------------------------------
def test_damaged_and_encrypted_entries_cost_only_themselves(tmp_path):
    scene = Scene(tmp_path)
    damaged, locked = f"{moodle_name(1002, '佐藤 花子')}/{NB}", f"{moodle_name(1004, '高橋 美咲')}/{NB}"
    deep = f"{moodle_name(1005, 'Deep Json')}/{NB}"
    z = make_zip(tmp_path / "damaged.zip", {**HONEST_MOODLE, damaged: notebook("s0002" * 500),
                                            locked: notebook("s0004"), deep: "[" * 200_000})
    data = bytearray(z.read_bytes())
    info = {i.filename: i for i in zipfile.ZipFile(z).infolist()}
    start = info[damaged].header_offset + 30 + len(damaged.encode("utf-8"))
    data[start + 20:start + 40] = b"\xff" * 20                      # damaged deflate data
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:                                                 # the central directory
        n = struct.unpack("<H", data[pos + 28:pos + 30])[0]
        if data[pos + 46:pos + 46 + n] == locked.encode("utf-8"):
            data[pos + 8] |= 1                                      # "encrypted"
        pos = data.find(b"PK\x01\x02", pos + 4)
    z.write_bytes(bytes(data))
    ros = moodle_roster(tmp_path, ["山田 太郎", "佐藤 花子", "鈴木 一郎", "高橋 美咲", "Deep Json"])
    scene.collect(z, "--roster", ros, "--worksheet",
                  worksheet(tmp_path, HONEST_TIMES), expect=1)
    assert sorted(scene.submitted()) == ["s0001", "s0003", "s0005"]
    assert_honest_moodle(scene)
    # a first submission that is not readable is placed (grading says so) and listed
    assert "but it is not a readable notebook (not JSON" in scene.listed("Deep Json")[0]
    assert "cannot be read from the download" in scene.listed("佐藤 花子")[0]
    assert "encrypted" in scene.listed("高橋 美咲")[0]
