"""LMS round trip: Moodle and Canvas downloads in, deadlines, grades and feedback out.

The downloads are made here as the LMSs make them (nncourse/lms/moodle.py and canvas.py say
where each layout comes from): Moodle's folders and flat layouts, blind marking, Japanese
names with the zip's names in UTF-8 and in cp932 (no UTF-8 flag, as Japanese Windows'
Explorer writes them), an online-text folder, a resubmission; Canvas's LATE mark and -N
resubmissions.  The slow test runs the real pipeline on a copy of the course.
"""
import csv
import io
import json
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest

from nncourse.build import build
from nncourse.cli import main as cli_main
from nncourse.api import collect
from nncourse.core.course import Course, copy_course
from nncourse.lms import archive, canvas, deadlines, moodle
from nncourse.lms.collecting import match_notebook
from nncourse.export import CSV_COLUMNS, export

ROOT = Path(__file__).resolve().parents[2]
TOY = Path(__file__).resolve().parents[1] / "fixtures" / "toy_course"


class CP932Info(zipfile.ZipInfo):
    """An entry whose name is stored in cp932 without the UTF-8 flag (Japanese Windows)."""

    def _encodeFilenameFlags(self):
        return self.filename.encode("cp932"), self.flag_bits & ~0x800


def make_zip(path, files, cp932=False):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            info = CP932Info(name) if cp932 else zipfile.ZipInfo(name)
            info.date_time = (2026, 5, 1, 10, 0, 0)
            z.writestr(info, data)
    return path


def write_csv(path, header, rows, encoding="utf-8"):
    with open(path, "w", newline="", encoding=encoding) as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def worksheet(path, rows):
    """Moodle's offline grading worksheet as downloaded (English headers)."""
    return write_csv(path, moodle.WORKSHEET_COLUMNS, [
        [f"Participant {pid}", name, email, "Submitted for grading", "", "5.00", "Yes", when,
         "-", ""] for pid, name, email, when in rows])


@pytest.fixture
def toy(tmp_path):
    return Course.load(copy_course(TOY, tmp_path / "course"))


def nb_text(course, answer="x * x"):
    """A submission's text (collect only moves it; the slow test grades real ones)."""
    text = (course.source_dir("t1_square") / "square.ipynb").read_text("utf-8")
    return text.replace("return x * x", f"return {answer}", 1)


ROSTER_HEADER = ["学籍番号", "氏名", "メールアドレス", "canvas_user_id", "sis_user_id", "section"]
ROSTER_ROWS = [["s001", "山田 太郎", "yamada@example.ac.jp", "1111", "S001", "月1"],
               ["s002", "佐藤 花子", "sato@example.ac.jp", "2222", "S002", "月1"],
               ["s003", "鈴木 一郎", "suzuki@example.ac.jp", "3333", "S003", "月2"],
               ["s004", "高橋 美咲", "takahashi@example.ac.jp", "", "S004", "月2"]]


def roster(tmp_path, encoding="utf-8"):
    return write_csv(tmp_path / f"roster-{encoding}.csv", ROSTER_HEADER, ROSTER_ROWS, encoding)


# --- names -------------------------------------------------------------------------------
def test_moodle_and_canvas_names_parse():
    f = moodle.parse("山田 太郎_1001_assignsubmission_file_/sub/square.ipynb")
    assert (f.full_name, f.participant_id, f.plugin, f.filename, f.layout, f.blind) == \
        ("山田 太郎", "1001", "file", "sub/square.ipynb", "folders", False)
    f = moodle.parse("Yamada Taro_1001_assignsubmission_file_square (1).ipynb")
    assert (f.full_name, f.filename, f.layout) == ("Yamada Taro", "square (1).ipynb", "flat")
    assert moodle.parse("Participant_2001_assignsubmission_file_/square.ipynb").blind
    assert moodle.parse("x_1_assignsubmission_onlinetext_/onlinetext.html").plugin == "onlinetext"
    assert moodle.parse("s01_square.ipynb") is None
    c = canvas.parse("satohanako_LATE_2222_5003_square-2.ipynb")
    assert (c.name, c.user_id, c.attachment_id, c.filename, c.late, c.version) == \
        ("satohanako", "2222", "5003", "square-2.ipynb", True, 2)
    assert canvas.parse("yamadataro_late_1111_5001_square.ipynb").late
    assert canvas.parse("LATE_anon_x7Yq2_5009_square.ipynb").user_id == "anon_x7Yq2"
    assert canvas.parse("u001_square.ipynb") is None
    assert canvas.sortable_key("Yamada, Taro") == "yamadataro"


def test_renamed_notebooks_map_to_the_expected_name():
    nbs = ["loss_functions", "extra"]
    assert match_notebook("loss_functions.ipynb", nbs) == ("loss_functions", True, 0)
    assert match_notebook("loss_functions (1).ipynb", nbs) == ("loss_functions", False, 1)
    assert match_notebook("loss_functions - コピー.ipynb", nbs)[0] == "loss_functions"
    assert match_notebook("コピー ～ loss_functions.ipynb", nbs)[0] == "loss_functions"
    assert match_notebook("Copy of loss_functions.ipynb", nbs)[0] == "loss_functions"
    assert match_notebook("loss_functions-3.ipynb", nbs) == ("loss_functions", False, 3)
    assert match_notebook("my_answer.ipynb", nbs)[0] is None           # ambiguous: reported
    assert match_notebook("my_answer.ipynb", ["loss_functions"])[0] == "loss_functions"


def test_zip_names_in_cp932_and_utf8_are_decoded(tmp_path):
    name = "山田 太郎_1001_assignsubmission_file_/square.ipynb"
    for cp in (True, False):
        z = make_zip(tmp_path / f"x{cp}.zip", {name: "{}"}, cp932=cp)
        raw = zipfile.ZipFile(z).infolist()[0]
        assert bool(raw.flag_bits & 0x800) is not cp
        assert [e.name for e in archive.entries(z)] == [name]


# --- collect -------------------------------------------------------------------------------
def moodle_download(course, tmp_path, name="moodle.zip", cp932=True, sato="x * x"):
    return make_zip(tmp_path / name, {
        "山田 太郎_1001_assignsubmission_file_/square.ipynb": nb_text(course),
        "佐藤 花子_1002_assignsubmission_file_/square (1).ipynb": nb_text(course, sato),
        "鈴木 一郎_1003_assignsubmission_onlinetext_/onlinetext.html": "<p>先生へ</p>",
        "田中 次郎_1004_assignsubmission_file_/square.ipynb": nb_text(course),
    }, cp932=cp932)


def test_moodle_folders_cp932_with_roster_and_worksheet(toy, tmp_path):
    sheet = worksheet(tmp_path / "ws.csv", [
        ("1001", "山田 太郎", "yamada@example.ac.jp", "Friday, 1 May 2026, 10:00 AM"),
        ("1002", "佐藤 花子", "sato@example.ac.jp", "Sunday, 3 May 2026, 9:30 AM"),
        ("1004", "田中 次郎", "tanaka@example.ac.jp", "Friday, 1 May 2026, 11:00 AM")])
    res = collect(toy, "t1_square", moodle_download(toy, tmp_path), roster=roster(tmp_path, "cp932"),
                  worksheet=sheet)
    assert res.lms == "moodle"
    assert sorted(d.parent.parent.name for _, d in res.placed) == ["s001", "s002"]
    assert res.renamed == [("佐藤 花子_1002_assignsubmission_file_/square (1).ipynb", "square.ipynb")]
    assert [s for s, _ in res.ignored] == ["鈴木 一郎_1003_assignsubmission_onlinetext_/onlinetext.html"]
    unknown = dict(res.unplaced)["田中 次郎_1004_assignsubmission_file_/square.ipynb"]
    assert "田中 次郎 (participant 1004, tanaka@example.ac.jp) is not in the roster" == unknown
    assert res.missing == ["s003", "s004"]
    stamp = (toy.submitted_dir("s002", "t1_square") / "timestamp.txt").read_text()
    assert stamp == "2026-05-03T00:30:00+00:00"          # 9:30 in Asia/Tokyo
    rec = json.loads((toy.state_dir / "lms" / "t1_square.json").read_text("utf-8"))
    assert rec["s002"]["participant_id"] == "1002" and rec["s002"]["email"] == "sato@example.ac.jp"
    assert "田中 次郎" in res.format() and "s003, s004" in res.format()
    # the same download again: nothing changes
    mtime = (toy.submitted_dir("s001", "t1_square") / "square.ipynb").stat().st_mtime_ns
    again = collect(toy, "t1_square", moodle_download(toy, tmp_path), roster=roster(tmp_path),
                    worksheet=sheet)
    assert not again.placed and len(again.unchanged) == 2
    assert (toy.submitted_dir("s001", "t1_square") / "square.ipynb").stat().st_mtime_ns == mtime
    # ... and without the worksheet (no times in the download): the times collected are kept
    again = collect(toy, "t1_square", moodle_download(toy, tmp_path), roster=roster(tmp_path))
    assert not again.placed and len(again.unchanged) == 2
    assert (toy.submitted_dir("s002", "t1_square") / "timestamp.txt").read_text() == stamp
    rec = json.loads((toy.state_dir / "lms" / "t1_square.json").read_text("utf-8"))
    assert rec["s002"]["submitted_at"] == stamp
    # a resubmission: a newer download replaces only the submission that changed
    newer = worksheet(tmp_path / "ws2.csv", [
        ("1001", "山田 太郎", "yamada@example.ac.jp", "Friday, 1 May 2026, 10:00 AM"),
        ("1002", "佐藤 花子", "sato@example.ac.jp", "Monday, 4 May 2026, 8:00 AM")])
    res = collect(toy, "t1_square", moodle_download(toy, tmp_path, "m2.zip", sato="x ** 2"),
                  roster=roster(tmp_path), worksheet=newer)
    assert [d.parent.parent.name for _, d in res.placed] == ["s002"]
    assert "x ** 2" in (toy.submitted_dir("s002", "t1_square") / "square.ipynb").read_text()
    # an older download never replaces a newer submission
    res = collect(toy, "t1_square", moodle_download(toy, tmp_path, "m3.zip", sato="x + x"),
                  roster=roster(tmp_path), worksheet=sheet)
    assert not res.placed and [s for s, _ in res.kept] == \
        ["佐藤 花子_1002_assignsubmission_file_/square (1).ipynb"]
    assert "x ** 2" in (toy.submitted_dir("s002", "t1_square") / "square.ipynb").read_text()


def test_moodle_flat_utf8_and_blind_marking(toy, tmp_path):
    z = make_zip(tmp_path / "flat.zip", {
        "山田 太郎_1001_assignsubmission_file_square.ipynb": nb_text(toy),
        "佐藤 花子_1002_assignsubmission_file_square - コピー.ipynb": nb_text(toy),
        "佐藤 花子_1002_assignsubmission_file_notes.txt": "x"})
    res = collect(toy, "t1_square", z, roster=roster(tmp_path))
    assert sorted(d.parent.parent.name for _, d in res.placed) == ["s001", "s002"]
    assert dict(res.unplaced) == {"佐藤 花子_1002_assignsubmission_file_notes.txt": "not a notebook"}
    blind = make_zip(tmp_path / "blind.zip", {
        "Participant_2001_assignsubmission_file_/square.ipynb": nb_text(toy),
        "Participant_2002_assignsubmission_file_/square.ipynb": nb_text(toy)}, cp932=True)
    res = collect(toy, "t1_square", blind, roster=roster(tmp_path))
    assert sorted(d.parent.parent.name for _, d in res.placed) == ["moodle-p2001", "moodle-p2002"]
    assert not res.unplaced


def test_canvas_late_and_resubmissions(toy, tmp_path):
    z = make_zip(tmp_path / "submissions.zip", {
        "yamadataro_1111_5001_square.ipynb": nb_text(toy),
        "satohanako_LATE_2222_5002_square-1.ipynb": nb_text(toy, "x + x"),
        "satohanako_LATE_2222_5003_square-2.ipynb": nb_text(toy),
        "tanakajiro_4444_5005_square.ipynb": nb_text(toy),
        "suzukiichiro_3333_text.html": "<p>x</p>"})
    res = collect(toy, "t1_square", z, roster=roster(tmp_path))
    assert res.lms == "canvas"
    placed = {d.parent.parent.name: s for s, d in res.placed}
    assert placed == {"s001": "yamadataro_1111_5001_square.ipynb",
                      "s002": "satohanako_LATE_2222_5003_square-2.ipynb"}
    assert [s for s, _ in res.ignored][0] == "satohanako_LATE_2222_5002_square-1.ipynb"
    assert dict(res.unplaced)["tanakajiro_4444_5005_square.ipynb"] == \
        "tanakajiro (Canvas user 4444) is not in the roster"
    rec = json.loads((toy.state_dir / "lms" / "t1_square.json").read_text("utf-8"))
    assert rec["s002"]["late"] is True and rec["s002"]["attachment_id"] == "5003"
    assert rec["s001"]["late"] is False
    assert cli_main(["--course-dir", str(toy.root), "collect", "t1_square", str(z),
                     "--roster", str(roster(tmp_path))]) == 1      # one file not placed
    # an older download (Canvas gives no times: its file ids grow) never replaces a newer one
    old = make_zip(tmp_path / "older.zip", {
        "satohanako_2222_5002_square-1.ipynb": nb_text(toy, "x + x")})
    res = collect(toy, "t1_square", old, roster=roster(tmp_path))
    assert not res.placed and res.kept == [
        ("satohanako_2222_5002_square-1.ipynb",
         "Canvas file 5002, the collected one (5003) was uploaded later")]
    assert "x * x" in (toy.submitted_dir("s002", "t1_square") / "square.ipynb").read_text()
    newer = make_zip(tmp_path / "newer.zip", {
        "satohanako_2222_5009_square-3.ipynb": nb_text(toy, "x ** 2")})
    res = collect(toy, "t1_square", newer, roster=roster(tmp_path))
    assert [s for s, _ in res.placed] == ["satohanako_2222_5009_square-3.ipynb"]


def test_the_files_layout_still_works_with_the_new_options(toy, tmp_path):
    z = make_zip(tmp_path / "e.zip", {"lms/u001_square.ipynb": nb_text(toy)})
    res = collect(toy, "t1_square", z)
    assert res.lms == "files" and [d.parent.parent.name for _, d in res.placed] == ["u001"]


# --- deadlines -------------------------------------------------------------------------------
def with_settings(course, **settings):
    path = course.root / "course_config.py"
    path.write_text(path.read_text() + "\n" + "\n".join(f"{k} = {v!r}" for k, v in settings.items()))
    return Course.load(course.root)


def stamp(course, student, when):
    d = course.submitted_dir(student, "t1_square")
    d.mkdir(parents=True, exist_ok=True)
    (d / "square.ipynb").write_text("{}")
    (d / "timestamp.txt").write_text(when)


def test_late_penalty_policies_and_extensions(toy):
    c = with_settings(toy, DUE_DATES={"t1_square": "2026-05-01T23:59:00+09:00"},
                      EXTENSIONS={"t1_square": {"s_ext": "2026-05-05T23:59:00+09:00"}},
                      LATE_PENALTY={"policy": "per_day", "percent_per_day": 10,
                                    "floor_percent": 50, "grace_minutes": 5})
    stamp(c, "s_on", "2026-05-01T15:02:00+00:00")        # 00:02 JST, within the grace
    stamp(c, "s_2d", "2026-05-03T10:00:00+09:00")
    stamp(c, "s_9d", "2026-05-10T10:00:00+09:00")
    stamp(c, "s_ext", "2026-05-05T12:00:00+09:00")
    p = {s: deadlines.penalty(c, "t1_square", s) for s in ("s_on", "s_2d", "s_9d", "s_ext")}
    assert [p[s].days_late for s in p] == [0, 2, 9, 0]
    assert [p[s].factor for s in p] == [1.0, 0.8, 0.5, 1.0]
    note = p["s_2d"].note_ja(5, 5, deadlines.timezone_of(c))
    assert note == ("遅延提出: 提出日時 2026-05-03 10:00、締切 2026-05-01 23:59。"
                    "2 日遅れのため 20% 減点します (5 点 → 4 点 / 5 点)。")
    zero = with_settings(c, LATE_PENALTY={"policy": "zero"})
    assert deadlines.penalty(zero, "t1_square", "s_2d").apply(5) == 0
    # Canvas: a LATE mark without a time counts LATE_WITHOUT_TIME_DAYS
    (c.submitted_dir("s_2d", "t1_square") / "timestamp.txt").unlink()
    (c.state_dir / "lms").mkdir(parents=True)
    (c.state_dir / "lms" / "t1_square.json").write_text(json.dumps({"s_2d": {"late": True}}))
    q = deadlines.penalty(c, "t1_square", "s_2d")
    assert (q.days_late, q.factor, q.time_known) == (1, 0.9, False)
    with pytest.raises(deadlines.DeadlineError):
        deadlines.penalty(with_settings(c, LATE_PENALTY={"policy": "half"}), "t1_square", "s_2d")


# --- export (gradebook scores stubbed; the slow test uses the real pipeline) ---------------
def read(path, skip_points=False):
    rows = list(csv.DictReader(io.StringIO(Path(path).read_text("utf-8"))))
    return [r for r in rows if not (skip_points and r["Student"].strip() == "Points Possible")]


def test_export_layouts_with_penalties(toy, tmp_path, monkeypatch):
    c = with_settings(toy, DUE_DATES={"t1_square": "2026-05-02T23:59:00+09:00"},
                      LATE_PENALTY={"policy": "per_day", "percent_per_day": 10, "floor_percent": 50},
                      LMS_ASSIGNMENTS={"t1_square": {"title": "課題1 2乗", "canvas_id": 777,
                                                     "points": 100}})
    sheet = worksheet(tmp_path / "ws.csv", [
        ("1001", "山田 太郎", "yamada@example.ac.jp", "Friday, 1 May 2026, 10:00 AM"),
        ("1002", "佐藤 花子", "sato@example.ac.jp", "Monday, 4 May 2026, 9:30 AM")])
    collect(c, "t1_square", moodle_download(c, tmp_path), roster=roster(tmp_path), worksheet=sheet)
    import nncourse.export                  # the gradebook's scores as export reads them
    monkeypatch.setattr(nncourse.export, "gradebook_scores", lambda course, aids: {
        ("s001", "t1_square"): {"score": 5.0, "max_score": 5.0},
        ("s002", "t1_square"): {"score": 4.0, "max_score": 5.0}})
    fb = c.feedback_dir("s002", "t1_square")
    fb.mkdir(parents=True)
    (fb / "square.html").write_text("<p>feedback</p>")
    res = export(c, "t1_square", "moodle", roster=roster(tmp_path))
    rows = read(res.files[0])
    assert list(rows[0]) == moodle.WORKSHEET_COLUMNS
    by = {r["Identifier"]: r for r in rows}
    assert by["Participant 1001"]["Grade"] == "100.00"
    assert by["Participant 1002"]["Grade"] == "64.00"           # 4/5 -> 80, 2 days late: -20%
    assert by["Participant 1002"]["Maximum Grade"] == "100.00"
    assert "2 日遅れのため 20% 減点" in by["Participant 1002"]["Feedback comments"]
    assert datetime.strptime(by["Participant 1002"]["Last modified (grade)"], "%Y-%m-%d %H:%M")
    names = zipfile.ZipFile(res.files[1]).namelist()
    assert names == ["佐藤 花子_1002_assignfeedback_file_/square.html"]
    name, pid, subtype, plugin, rest = names[0].split("_", 4)    # as importziplib.php splits it
    assert (pid, subtype, plugin, rest) == ("1002", "assignfeedback", "file", "/square.html")
    out = export(c, "t1_square", "csv", roster=roster(tmp_path))
    rows = {r["student_id"]: r for r in read(out.files[0])}
    assert list(next(iter(rows.values()))) == CSV_COLUMNS
    assert (rows["s002"]["days_late"], rows["s002"]["penalty_percent"],
            rows["s002"]["score_after_penalty"], rows["s002"]["lms_grade"]) == ("2", "20", "3.2", "64")
    assert rows["s001"]["days_late"] == "0" and rows["s001"]["lms_grade"] == "100"
    # Canvas: the students' Canvas ids come from the roster here
    out = export(c, "t1_square", "canvas", roster=roster(tmp_path))
    text = out.files[0].read_text("utf-8")
    assert text.splitlines()[0] == "Student,ID,SIS User ID,SIS Login ID,Section,課題1 2乗 (777)"
    rows = {r["ID"]: r for r in read(out.files[0], skip_points=True)}
    assert rows["1111"]["課題1 2乗 (777)"] == "100" and rows["2222"]["課題1 2乗 (777)"] == "64"
    assert rows["2222"]["SIS User ID"] == "S002" and rows["2222"]["Section"] == "月1"


# --- the real pipeline ---------------------------------------------------------------------
@pytest.mark.slow
def test_collect_grade_export_on_the_course(tmp_path):
    from autograders.catalogue import as_submitted
    from nncourse.cohort import apply_mistake, reference_submission
    from nncourse.grade.run import grade
    course = Course.load(copy_course(ROOT, tmp_path / "course"))
    course = with_settings(course, DUE_DATES={"a1_loss": "2026-05-08T23:59:00+09:00"},
                           LMS_ASSIGNMENTS={"a1_loss": {"title": "損失関数", "canvas_id": 4242}})
    build(course, ["a1_loss"])
    good = nbformat.writes(reference_submission(course, "a1_loss"))
    bad_nb = reference_submission(course, "a1_loss")
    apply_mistake(bad_nb, {"assignment": "a1_loss", "what": "no 1/2",
                           "pattern": r"0\.5\s*\*\s*np\.sum\(", "with": "np.sum("})
    bad = nbformat.writes(bad_nb)
    z = make_zip(tmp_path / "moodle.zip", {
        "山田 太郎_1001_assignsubmission_file_/loss_functions.ipynb": good,
        "佐藤 花子_1002_assignsubmission_file_/loss_functions (1).ipynb": good,
        "鈴木 一郎_1003_assignsubmission_file_/loss_functions.ipynb": bad}, cp932=True)
    sheet = worksheet(tmp_path / "ws.csv", [
        ("1001", "山田 太郎", "yamada@example.ac.jp", "Friday, 8 May 2026, 11:00 PM"),
        ("1002", "佐藤 花子", "sato@example.ac.jp", "Monday, 11 May 2026, 9:30 AM"),
        ("1003", "鈴木 一郎", "suzuki@example.ac.jp", "Friday, 8 May 2026, 10:00 PM")])
    res = collect(course, "a1_loss", z, roster=roster(tmp_path), worksheet=sheet)
    assert len(res.placed) == 3 and res.missing == ["s004"]
    run = grade(course, ["a1_loss"], jobs=1, progress=False)
    assert not run.not_graded, [r.get("error") for r in run.not_graded]
    scores = {r["student"]: (r["score"], r["max_score"]) for r in run.results}
    top = scores["s001"][0]           # autograded points (the written answers wait for the teacher)
    assert top > 0 and scores["s002"][0] == top and scores["s003"][0] < top
    # the report and the feedback show the penalty (s002: 3 days late, -30%)
    html = run.report.html.read_text("utf-8")
    late = "遅延提出 (Late submissions)</h2>"           # the section (its table's caption repeats it)
    assert late in html and "s002" in html.split(late)[1].split("</table>")[0]
    fb = (course.feedback_dir("s002", "a1_loss") / "loss_functions.html").read_text("utf-8")
    assert "3 日遅れのため 30% 減点します" in fb
    assert "遅延提出" not in (course.feedback_dir("s001", "a1_loss") / "loss_functions.html").read_text("utf-8")
    out = export(course, "a1_loss", "moodle", roster=roster(tmp_path))
    by = {r["Identifier"]: r for r in read(out.files[0])}
    assert float(by["Participant 1001"]["Grade"]) == top
    assert float(by["Participant 1002"]["Grade"]) == pytest.approx(round(top * 0.7, 2))
    assert float(by["Participant 1003"]["Grade"]) == pytest.approx(scores["s003"][0])
    assert len(zipfile.ZipFile(out.files[1]).namelist()) == 3
    out = export(course, "a1_loss", "canvas", roster=roster(tmp_path))
    rows = {r["ID"]: r for r in read(out.files[0], skip_points=True)}
    assert float(rows["2222"]["損失関数 (4242)"]) == pytest.approx(round(top * 0.7, 2))
    out = export(course, "a1_loss", "csv", roster=roster(tmp_path))
    rows = {r["student_id"]: r for r in read(out.files[0])}
    assert rows["s002"]["days_late"] == "3" and rows["s002"]["penalty_percent"] == "30"
    # the written answers wait for the teacher: the export says so, loudly
    pend = float(rows["s001"]["manual_pending_points"])
    assert pend > 0 and float(rows["s001"]["auto_score"]) == top
    assert [s for s, _ in out.pending] == ["s001", "s002", "s003"]
    assert "WARNING: 3 student(s) have written answers not graded yet" in out.format_text()
    assert f"記述問題 {pend:g} 点分は採点待ちです" in by["Participant 1001"]["Feedback comments"]
    # the teacher grades s001's written answers (as formgrader does); the next export has them
    from nbgrader.api import Gradebook
    with Gradebook(course.db_url, course.course_id) as gb:
        sub = gb.find_submission_notebook("loss_functions", "a1_loss", "s001")
        manual = [g for g in sub.grades if g.cell.cell_type == "markdown"]
        for g in manual:
            g.manual_score, g.needs_manual_grade = g.max_score, False
        gb.db.commit()
        assert sum(g.max_score for g in manual) == pend
    grade(course, ["a1_loss"], jobs=1, progress=False)
    out = export(course, "a1_loss", "csv", roster=roster(tmp_path))
    rows = {r["student_id"]: r for r in read(out.files[0])}
    assert (rows["s001"]["manual_score"], rows["s001"]["manual_pending_points"]) == (f"{pend:g}", "0")
    assert float(rows["s001"]["lms_grade"]) == pytest.approx(top + pend)
    assert [s for s, _ in out.pending] == ["s002", "s003"]
    assert cli_main(["--course-dir", str(course.root), "export", "a1_loss", "--format", "csv"]) == 0


# --- review: deadline inputs, EXTENSIONS_CSV, the "none" policy, macOS zips -----------------
class FlaglessUTF8Info(zipfile.ZipInfo):
    """An entry whose name is stored in UTF-8 without the UTF-8 flag (macOS's Archive Utility,
    ``ditto`` and ``zip``; the Finder's names are decomposed, NFD)."""

    def _encodeFilenameFlags(self):
        return self.filename.encode("utf-8"), self.flag_bits & ~0x800


def test_zip_names_in_utf8_without_the_flag_are_decoded(toy, tmp_path):
    import unicodedata
    names = ["山田 太郎_1001_assignsubmission_file_/square.ipynb",
             "佐藤 花子_1002_assignsubmission_file_/square - コピー.ipynb"]
    path = tmp_path / "mac.zip"
    with zipfile.ZipFile(path, "w") as z:
        for name in names:
            info = FlaglessUTF8Info(unicodedata.normalize("NFD", name))
            info.date_time = (2026, 5, 1, 10, 0, 0)
            z.writestr(info, nb_text(toy))
    raw = zipfile.ZipFile(path).infolist()
    assert not any(i.flag_bits & 0x800 for i in raw)
    assert raw[0].filename != names[0]                    # Python alone reads them as cp437
    assert unicodedata.normalize("NFD", names[1]) != names[1]     # 「ピ」 really decomposed
    assert [e.name for e in archive.entries(path)] == names
    res = collect(toy, "t1_square", path, roster=roster(tmp_path))
    assert sorted(d.parent.parent.name for _, d in res.placed) == ["s001", "s002"]
    assert res.renamed == [(names[1], "square.ipynb")] and not res.unplaced


def test_extensions_csv_is_read_and_a_malformed_row_is_named(toy):
    csv_path = toy.root / "extensions.csv"
    csv_path.write_bytes("\ufeffstudent_id, assignment ,due\n"          # BOM, spaces
                         "s_csv,t1_square,2026-05-06T23:59:00+09:00\n"
                         "\n"
                         "s_both,t1_square,2026-05-04 12:00\n".encode("utf-8"))  # no offset: JST
    c = with_settings(toy, DUE_DATES={"t1_square": "2026-05-01T23:59:00+09:00"},
                      EXTENSIONS={"t1_square": {"s_both": "2026-05-02T23:59:00+09:00",
                                                "s_dict": "2026-05-03T23:59:00+09:00"}},
                      EXTENSIONS_CSV="extensions.csv",
                      LATE_PENALTY={"policy": "per_day", "percent_per_day": 10})
    jst = deadlines.timezone_of(c)
    assert deadlines.extensions(c) == {
        ("t1_square", "s_csv"): datetime(2026, 5, 6, 23, 59, tzinfo=jst),
        ("t1_square", "s_both"): datetime(2026, 5, 4, 12, 0, tzinfo=jst),   # the CSV wins
        ("t1_square", "s_dict"): datetime(2026, 5, 3, 23, 59, tzinfo=jst)}
    for student in ("s_csv", "s_plain"):
        stamp(c, student, "2026-05-05T10:00:00+09:00")
    assert deadlines.penalty(c, "t1_square", "s_csv").days_late == 0
    assert deadlines.penalty(c, "t1_square", "s_plain").days_late == 4
    bad = {
        "student_id,assignment,due\ns1,t1_square,2026-05-06\ns2,t1_square\n":
            r"extensions\.csv line 3: no due \(a row is student_id,assignment,due; it is 's2,t1_square'\)",
        "student_id,assignment,due\ns1,t1_square,next friday\n":
            r"extensions\.csv line 2: cannot read the time 'next friday'",
        "student_id,assignment,due\n,t1_square,2026-05-06\n": r"line 2: no student_id",
        "student_id,assignment,due\ns1,t9_nope,2026-05-06\n":
            r"line 2: assignment 't9_nope' is not in ASSIGNMENTS",
        "student,assignment,due\ns1,t1_square,2026-05-06\n":
            r"the first row must name the columns student_id,assignment,due",
        "": r"the first row must name the columns",
    }
    for text, message in bad.items():
        csv_path.write_text(text, encoding="utf-8")
        with pytest.raises(deadlines.DeadlineError, match=message):
            deadlines.extensions(c)
        with pytest.raises(deadlines.DeadlineError, match=message):
            deadlines.penalty(c, "t1_square", "s_csv")
    csv_path.unlink()
    with pytest.raises(deadlines.DeadlineError, match=r"EXTENSIONS_CSV .*extensions\.csv: cannot read"):
        deadlines.extensions(c)
    # the CLI says what is wrong, without a traceback
    csv_path.write_text("student_id,assignment,due\ns2,t1_square\n", encoding="utf-8")
    import contextlib
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = cli_main(["--course-dir", str(c.root), "export", "t1_square", "--format", "csv"])
    assert status != 0 and "export failed: EXTENSIONS_CSV" in err.getvalue()
    assert "line 2: no due" in err.getvalue()
    # cp932 (Excel on Japanese Windows), an absolute path
    other = toy.root.parent / "ext-cp932.csv"
    other.write_bytes("student_id,assignment,due\ns_csv,t1_square,2026年5月7日 23:59\n".encode("cp932"))
    c2 = with_settings(c, EXTENSIONS_CSV=str(other))
    assert deadlines.extensions(c2)[("t1_square", "s_csv")] == datetime(2026, 5, 7, 23, 59, tzinfo=jst)


def test_the_none_policy_gives_factor_1_to_a_late_submission(toy):
    c = with_settings(toy, DUE_DATES={"t1_square": "2026-05-01T23:59:00+09:00"},
                      LATE_PENALTY={"policy": "none"})
    stamp(c, "s_3d", "2026-05-04T10:00:00+09:00")
    p = deadlines.penalty(c, "t1_square", "s_3d")
    assert (p.late, p.days_late, p.factor, p.percent, p.apply(4.5)) == (True, 3, 1.0, 0, 4.5)
    assert p.note_ja(4.5, 5, deadlines.timezone_of(c)) == (
        "遅延提出: 提出日時 2026-05-04 10:00、締切 2026-05-01 23:59。"
        "3 日遅れです (減点はありません) (4.5 点 → 4.5 点 / 5 点)。")
    # no LATE_PENALTY at all is the same policy
    bare = with_settings(toy, DUE_DATES={"t1_square": "2026-05-01T23:59:00+09:00"})
    q = deadlines.penalty(bare, "t1_square", "s_3d")
    assert (q.policy, q.days_late, q.factor) == ("none", 3, 1.0)


@pytest.mark.slow     # over 30 s: the full suite runs it, the fast subset does not
def test_an_extension_rebuilds_the_late_note_of_an_unchanged_submission(toy):
    """The deadline inputs outside course_config.py (here the EXTENSIONS_CSV file) do not
    regrade anything; the feedback's late note must follow them all the same."""
    from nncourse.cohort import reference_submission
    from nncourse.grade.run import grade
    ext = toy.root / "extensions.csv"
    ext.write_text("student_id,assignment,due\nsomeone,t1_square,2026-05-09T23:59:00+09:00\n",
                   encoding="utf-8")
    c = with_settings(toy, DUE_DATES={"t1_square": "2026-05-01T23:59:00+09:00"},
                      EXTENSIONS_CSV="extensions.csv",
                      LATE_PENALTY={"policy": "per_day", "percent_per_day": 10})
    build(c, ["t1_square"])
    for student, when in (("s_late", "2026-05-03T10:00:00+09:00"),
                          ("s_on", "2026-05-01T10:00:00+09:00")):
        d = c.submitted_dir(student, "t1_square")
        d.mkdir(parents=True)
        nbformat.write(reference_submission(c, "t1_square"), d / "square.ipynb")
        (d / "timestamp.txt").write_text(when)
    page = lambda s: (c.feedback_dir(s, "t1_square") / "square.html").read_text("utf-8")

    def exported():
        out = export(c, "t1_square", "csv")
        return {r["student_id"]: r for r in read(out.files[0])}
    run = grade(c, ["t1_square"], jobs=1, progress=False, report=False)
    assert not run.not_graded and {r["score"] for r in run.results} == {5.0}
    assert "2 日遅れのため 20% 減点します (5 点 → 4 点 / 6 点)" in page("s_late")
    assert "遅延提出" not in page("s_on")
    rows = exported()
    assert (rows["s_late"]["penalty_percent"], rows["s_late"]["lms_grade"]) == ("20", "4")
    # the teacher grants s_late an extension: nothing is regraded, the feedback follows
    ext.write_text(ext.read_text("utf-8") + "s_late,t1_square,2026-05-04T23:59:00+09:00\n",
                   encoding="utf-8")
    before = page("s_on")
    run = grade(c, ["t1_square"], jobs=1, progress=False, report=False)
    assert sorted(run.skipped) == [("s_late", "t1_square"), ("s_on", "t1_square")]
    assert run.feedback_rebuilt == [("s_late", "t1_square")]
    assert "遅延提出" not in page("s_late") and "減点" not in page("s_late")
    assert page("s_on") == before
    rows = exported()
    assert (rows["s_late"]["days_late"], rows["s_late"]["penalty_percent"],
            rows["s_late"]["lms_grade"]) == ("0", "0", "5")
    # a shorter extension: late again, by one day (the note changes, the feedback with it)
    ext.write_text(ext.read_text("utf-8").replace("2026-05-04T23:59", "2026-05-02T23:59"),
                   encoding="utf-8")
    run = grade(c, ["t1_square"], jobs=1, progress=False, report=False)
    assert run.feedback_rebuilt == [("s_late", "t1_square")]
    assert "1 日遅れのため 10% 減点します (5 点 → 4.5 点 / 6 点)" in page("s_late")
    assert exported()["s_late"]["penalty_percent"] == "10"
    # nothing changed: nothing rebuilt
    assert grade(c, ["t1_square"], jobs=1, progress=False, report=False).feedback_rebuilt == []
