"""``nncourse export ASSIGNMENT --format moodle|canvas|csv``: grades back to the LMS.

Scores come from nbgrader's gradebook (``core.gradebook.gradebook_scores``); the late penalty
(``deadlines``) is applied; the grade is scaled to the LMS's points
(``LMS_ASSIGNMENTS[aid]["points"]``, default the notebook's maximum score).  The files go to
``reports/<assignment>/export/``.

A student whose latest submission the last ``nncourse grade`` could not grade (or who has no
graded submission) gets no grade from the export: the gradebook still holds an earlier
score, which that grading did not confirm.  The CSV says ``not graded: <reason>`` in
``status``, leaves the score columns blank and shows the earlier score in
``previous_score``; the Moodle worksheet and the Canvas CSV leave the student out (the LMS
keeps what it has; their feedback page, which says why, still goes in the zip); and the
export prints a WARNING naming them (``nncourse export`` then exits 1).
"""
import time
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .core.records import load_result
from .core.gradebook import gradebook_scores
from .report.data import submissions
from .core.safetext import CsvDictWriter, encodable
from .feedback.mathjax import self_contained_page
from .lms import canvas, deadlines, moodle, records
from .lms.roster import Roster

FORMATS = ("moodle", "canvas", "csv")
CSV_COLUMNS = ["student_id", "name", "email", "lms", "lms_id", "status", "auto_score",
               "manual_score", "manual_pending_points", "score", "max_score", "submitted_at",
               "due", "days_late", "penalty_percent", "score_after_penalty", "lms_grade",
               "lms_max_grade", "previous_score"]
GRADED = "graded"


class ExportError(Exception):
    """An export that cannot be written (a missing setting); the message says which."""


@dataclass
class GradeRow:
    student: str
    status: str                 # "graded" | "failed" | "not graded"
    score: float
    max_score: float
    penalty: object             # deadlines.Penalty
    lms_grade: float
    lms_max: float
    record: dict
    roster: object = None       # roster.Student or None
    feedback: list = field(default_factory=list)   # Paths of the feedback HTML files
    auto: float = 0.0           # autograded points
    manual: float = 0.0         # points the teacher gave to written answers so far
    pending: float = 0.0        # points of written answers still waiting for the teacher
    reason: str = ""            # why it is not graded (English), when status is not "graded"
    had_score: bool = False     # the gradebook holds a score (maybe from an earlier grading)

    @property
    def final(self):
        return self.penalty.apply(self.score)

    @property
    def confirmed(self):
        """Whether the last grading graded this submission (else its score is not exported)."""
        return self.status == GRADED

    @property
    def status_text(self):
        return GRADED if self.confirmed else f"not graded: {self.reason}"


@dataclass
class ExportResult:
    assignment: str
    format: str
    files: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    problems: list = field(default_factory=list)    # (student, why it is not in the export)

    @property
    def pending(self):
        """(student, points) of the exported rows whose written answers are not graded yet."""
        return [(r.student, r.pending) for r in self.rows if r.pending and r.confirmed]

    @property
    def not_graded(self):
        """(student, reason) of the students whose grade the export did not send."""
        return [(r.student, r.reason) for r in self.rows if not r.confirmed]

    def format_text(self):
        lines = [f"{self.assignment}: {self.format} export of {len(self.rows)} student(s)"]
        lines += [f"  {p}" for p in self.files]
        lines += [f"  not exported {s}: {why}" for s, why in self.problems]
        if self.not_graded:
            lines.append(_warning(
                self.not_graded, "have no grade confirmed by the last grading, and the export "
                "sends none for them", "; ".join(f"{s} ({why})" for s, why in self.not_graded),
                "Look at their feedback, have them resubmit or fix the cause"))
        if self.pending:
            lines.append(_warning(
                self.pending, "have written answers not graded yet, and their exported grades "
                "leave those points out", ", ".join(f"{s} ({p:g})" for s, p in self.pending),
                "Grade them in formgrader (nncourse formgrader)"))
        return "\n".join(lines)


def _warning(students, what, who, fix):
    """A warning of ``format_text``: how many ``students`` ``what`` (who), then what to do."""
    return (f"WARNING: {len(students)} student(s) {what}: {who}. {fix}, run nncourse grade, "
            "then export again.")


def lms_settings(course, aid):
    return dict((course.setting("LMS_ASSIGNMENTS") or {}).get(aid, {}))


def grade_rows(course, aid, roster=None):
    """One GradeRow per student with a submission (or an LMS record) of ``aid``."""
    if roster is not None and not isinstance(roster, Roster):
        roster = Roster.load(roster)
    scores = gradebook_scores(course, [aid])
    recs = records.load(course, aid)
    ext = deadlines.extensions(course)
    points = lms_settings(course, aid).get("points")
    rows = []
    for student in sorted(set(course.students([aid])) | set(recs)):
        gb = scores.get((student, aid))
        res = load_result(course, aid, student) or {}
        score = gb["score"] if gb else 0.0
        max_score = gb["max_score"] if gb else float(res.get("max_score") or 0)
        status = res.get("status") or (GRADED if gb else "not graded")
        reason = "" if status == GRADED else encodable(
            res.get("error_en") or (res.get("error") or "").strip().split("\n")[0]
            or "no graded submission")
        pen = deadlines.penalty(course, aid, student, ext)
        lms_max = float(points) if points else max_score
        lms_grade = round(pen.apply(score) * lms_max / max_score, 2) if max_score else 0.0
        fb = sorted(course.feedback_dir(student, aid).glob("*.html"))
        sub = submissions({(student, aid): res}, scores).get((student, aid)) if res else None
        rows.append(GradeRow(student, status, score, max_score, pen, lms_grade, lms_max,
                             recs.get(student, {}), roster.get(student) if roster else None, fb,
                             auto=sub.auto if sub else score, manual=sub.manual if sub else 0.0,
                             pending=sub.pending_points if sub else 0.0, reason=reason,
                             had_score=gb is not None))
    return rows


def comment_ja(row, tz):
    if not row.confirmed:
        return ("最新の提出は採点できませんでした。理由はフィードバックファイルを見てください。"
                "直して、もう一度提出してください。")
    text = (f"得点: {row.score:g} / {row.max_score:g} 点 (自動採点 {row.auto:g} 点、"
            f"手動採点 {row.manual:g} 点)。")
    if row.pending:
        text += f"記述問題 {row.pending:g} 点分は採点待ちです。"
    note = row.penalty.note_ja(row.score, row.max_score, tz)
    if note:
        text += note
    return text + "詳しくはフィードバックファイルを見てください。"


def _fmt(dt, tz):
    return dt.astimezone(tz).strftime("%Y-%m-%d %H:%M") if dt else ""


def export(course, aid, fmt, roster=None, dest=None):
    """Write the export files of ``aid`` in format ``fmt``; returns an ExportResult."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    aid = course.select([aid])[0]
    tz = deadlines.timezone_of(course)
    rows = grade_rows(course, aid, roster)
    dest = Path(dest) if dest else course.root / "reports" / aid / "export"
    dest.mkdir(parents=True, exist_ok=True)
    result = ExportResult(aid, fmt)
    {"csv": _csv, "moodle": _moodle, "canvas": _canvas}[fmt](course, aid, rows, dest, tz, result)
    return result


def _csv(course, aid, rows, dest, tz, result):
    path = dest / f"grades_{aid}.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = CsvDictWriter(f, fieldnames=CSV_COLUMNS)
        w.writeheader()
        for r in rows:
            rec, st = r.record, r.roster
            ok = r.confirmed                 # else: no score the last grading did not confirm
            w.writerow({
                "student_id": r.student, "name": (st.name if st else "") or rec.get("full_name")
                or rec.get("canvas_name", ""), "email": (st.email if st else "") or rec.get("email", ""),
                "lms": rec.get("lms", "files"),
                "lms_id": rec.get("participant_id") or rec.get("canvas_user_id", ""),
                "status": r.status_text, "auto_score": f"{r.auto:g}" if ok else "",
                "manual_score": f"{r.manual:g}" if ok else "",
                "manual_pending_points": f"{r.pending:g}" if ok else "",
                "score": f"{r.score:g}" if ok else "", "max_score": f"{r.max_score:g}",
                "submitted_at": _fmt(r.penalty.submitted_at, tz), "due": _fmt(r.penalty.due, tz),
                "days_late": r.penalty.days_late, "penalty_percent": f"{r.penalty.percent:g}",
                "score_after_penalty": f"{r.final:g}" if ok else "",
                "lms_grade": f"{r.lms_grade:g}" if ok else "", "lms_max_grade": f"{r.lms_max:g}",
                "previous_score": "" if ok or not r.had_score else f"{r.score:g}"})
            result.rows.append(r)
    result.files.append(path)


def _moodle(course, aid, rows, dest, tz, result):
    now = datetime.now(tz).strftime("%Y-%m-%d %H:%M")
    sheet, files = [], []
    for r in rows:
        rec, st = r.record, r.roster
        pid = rec.get("participant_id") or (st.moodle_participant_id if st else "")
        if not pid:
            result.problems.append((r.student, "no Moodle participant id (not collected from a "
                                    "Moodle download, and none in the roster)"))
            continue
        blind = bool(rec.get("blind"))
        full = "" if blind else ((st.name if st else "") or rec.get("full_name", ""))
        files += [(moodle.feedback_entry_name(full, pid, p.name, blind), p) for p in r.feedback]
        result.rows.append(r)
        if not r.confirmed:             # no grade the last grading did not confirm (WARNING)
            continue
        sheet.append({
            "Identifier": f"Participant {pid}", "Full name": full,
            "Email address": "" if blind else ((st.email if st else "") or rec.get("email", "")),
            "Status": "Submitted for grading", "Grade": f"{r.lms_grade:.2f}",
            "Maximum Grade": f"{r.lms_max:.2f}", "Grade can be changed": "Yes",
            "Last modified (submission)": _fmt(r.penalty.submitted_at, tz),
            "Last modified (grade)": now, "Feedback comments": comment_ja(r, tz)})
    path = dest / f"moodle_grading_worksheet_{aid}.csv"
    path.write_text(moodle.worksheet_csv(sheet, course.setting("MOODLE_WORKSHEET_HEADERS")),
                    encoding="utf-8")
    result.files.append(path)
    if files:
        result.files.append(feedback_zip(dest / f"moodle_feedback_files_{aid}.zip", files))


def _canvas(course, aid, rows, dest, tz, result):
    conf = lms_settings(course, aid)
    if not conf.get("canvas_id"):
        raise ExportError(f"set LMS_ASSIGNMENTS[{aid!r}]['canvas_id'] in course_config.py: "
                          "Canvas's gradebook import finds the assignment by its id")
    column = f"{conf.get('title') or aid} ({conf['canvas_id']})"
    table, files = [], []
    for r in rows:
        rec, st = r.record, r.roster
        uid = rec.get("canvas_user_id") or (st.canvas_user_id if st else "")
        if not uid or uid.startswith("anon_"):
            result.problems.append((r.student, "no Canvas user id (anonymous grading, or not "
                                    "collected from a Canvas download and none in the roster)"))
            continue
        if rec.get("attachment_id"):
            files += [(canvas.reupload_entry_name(rec.get("canvas_name", ""), uid,
                                                  rec["attachment_id"], p.name), p)
                      for p in r.feedback]
        result.rows.append(r)
        if not r.confirmed:             # no grade the last grading did not confirm (WARNING)
            continue
        table.append({"Student": (st.name if st else "") or rec.get("canvas_name", ""),
                      "ID": uid, "SIS User ID": st.sis_user_id if st else "",
                      "SIS Login ID": st.sis_login_id if st else "",
                      "Section": st.section if st else "", "grade": f"{r.lms_grade:g}"})
    path = dest / f"canvas_gradebook_{aid}.csv"
    pts = max((r.lms_max for r in result.rows if r.confirmed), default=None)
    path.write_text(canvas.gradebook_csv(column, table, pts), encoding="utf-8")
    result.files.append(path)
    if files:
        result.files.append(feedback_zip(dest / f"canvas_feedback_reupload_{aid}.zip", files))


def feedback_zip(path, files):
    """A zip of feedback pages, ``files``: [(entry name, page on disk)], each page with
    MathJax inlined (it is opened alone, from the LMS); UTF-8 names."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, src in files:
            entry = zipfile.ZipInfo(name, time.localtime(src.stat().st_mtime)[:6])
            entry.external_attr = 0o644 << 16
            z.writestr(entry, self_contained_page(src), compress_type=zipfile.ZIP_DEFLATED)
    return path
