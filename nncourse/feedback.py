"""Feedback HTML that shows each test's result and message but not the hidden tests' code.

nbgrader's feedback renders the autograded notebook, whose test cells hold the hidden tests
again (nbgrader #917).  ``HideHiddenTests`` removes those regions and reduces the error
tracebacks of such cells to the check's message (a traceback quotes the failing source line
and the autograders' code); ``FeedbackSummary`` puts a table of all tests on top.
"""
import html
from pathlib import Path

from nbformat.notebooknode import NotebookNode
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader import utils as nbutils
from nbgrader.preprocessors import GetGrades, NbGraderPreprocessor

from .lock import GRADEBOOK_LOCK
from .results import cell_message, cell_problems, has_hidden_tests, remove_hidden_tests, strip_ansi

HIDDEN_PLACEHOLDER = "# (ここで非公開テストが実行されました)"
PRIVATE_PATHS = ("autograders", "/reference/")   # traceback frames of these files are dropped


class LockedGetGrades(GetGrades):
    """GetGrades reading the gradebook under the grading lock."""

    def preprocess(self, nb, resources):
        with GRADEBOOK_LOCK:
            return super().preprocess(nb, resources)

    def _get_score(self, cell, resources):
        super()._get_score(cell, resources)
        grade = self.gradebook.find_grade(cell.metadata["nbgrader"]["grade_id"], self.notebook_id,
                                          self.assignment_id, self.student_id)
        cell.metadata.nbgrader["needs_manual_grade"] = bool(grade.needs_manual_grade)


class HideHiddenTests(NbGraderPreprocessor):
    """Blank hidden-test regions and their tracebacks; keep outputs and messages."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        hidden = has_hidden_tests(cell.source)
        cell.metadata.setdefault("nncourse", {})["message"] = cell_message(cell)
        if hidden:
            cell.source = remove_hidden_tests(cell.source, HIDDEN_PLACEHOLDER)
        for out in cell.get("outputs", []):
            if out.get("output_type") != "error":
                continue
            if hidden:
                out["traceback"] = [f"\x1b[0;31m{out.get('ename', 'Error')}\x1b[0m: "
                                    f"{out.get('evalue', '')}"]
            else:
                out["traceback"] = [t for t in out.get("traceback", [])
                                    if not any(p in strip_ansi(t) for p in PRIVATE_PATHS)]
        return cell, resources


class FeedbackSummary(NbGraderPreprocessor):
    """A first cell with every test's points and message (after GetGrades)."""

    def preprocess(self, nb, resources):
        rows = []
        for cell in nb.cells:
            if not (nbutils.is_grade(cell) or nbutils.is_task(cell)):
                continue
            meta = cell.metadata.nbgrader
            score, points = meta.get("score"), meta.get("points", 0)
            auto = cell.cell_type == "code" and not nbutils.is_solution(cell)
            if not auto:
                pending = score is None or meta.get("needs_manual_grade")
                result = f"{score or 0:g} / {points:g}"
                msg = "先生が採点します (手動採点)" if pending else ""
            else:
                ok = score is not None and score >= points
                result = ("✓ " if ok else "✗ ") + f"{score or 0:g} / {points:g}"
                msg = cell.metadata.get("nncourse", {}).get("message") or ("合格" if ok else "")
            rows.append(f"<tr><td><code>{html.escape(meta['grade_id'])}</code></td>"
                        f"<td>{result}</td><td>{html.escape(msg or '')}</td></tr>")
        problems = "".join(f"<li>{html.escape(m)}</li>" for _, m in cell_problems(nb))
        late = LATE_NOTES.get((resources.get("nbgrader", {}).get("student"),
                               resources.get("nbgrader", {}).get("assignment")), "")
        text = ("<h3>採点結果の概要</h3>"
                + (f"<p><b>{html.escape(late)}</b></p>" if late else "")
                + (f"<p><b>注意:</b></p><ul>{problems}</ul>" if problems else "")
                + "<table><tr><th>テスト</th><th>点数</th><th>メッセージ</th></tr>"
                + "".join(rows) + "</table>"
                + "<p>非公開テストのコードは表示されません。メッセージを手がかりに直してください。</p>")
        nb.cells.insert(0, NotebookNode(cell_type="markdown", metadata={}, source=text,
                                        attachments={}))
        return nb, resources


LATE_NOTES = {}    # (student, aid) -> the late-penalty sentence of its feedback (Japanese)


def late_note(course, aid, student):
    """The late-penalty sentence for a submission ("" when on time or without a deadline)."""
    from .lms import deadlines
    from .report import gradebook_scores
    try:
        p = deadlines.penalty(course, aid, student)
    except deadlines.DeadlineError:
        return ""
    if not p.late:
        return ""
    gb = gradebook_scores(course, [aid]).get((student, aid), {})
    return p.note_ja(gb.get("score"), gb.get("max_score"), deadlines.timezone_of(course))


def feedback_preprocessors():
    return [LockedGetGrades, HideHiddenTests, FeedbackSummary, CSSHTMLHeaderPreprocessor]


def generate_feedback(course, aid, student, config=None):
    """Write feedback/<student>/<aid>/<notebook>.html for an autograded submission."""
    from nbgrader.converters import GenerateFeedback
    config = config or course.nbgrader_config()
    LATE_NOTES[(student, aid)] = late_note(course, aid, student)
    config.GenerateFeedback.preprocessors = feedback_preprocessors()
    conv = GenerateFeedback(coursedir=course.coursedir(aid, student, config), config=config)
    conv.force = True
    conv.start()
    return sorted(course.feedback_dir(student, aid).glob("*.html"))


def write_failure_feedback(course, aid, student, reason):
    """A one-page feedback for a submission that could not be graded at all."""
    dest = course.feedback_dir(student, aid)
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("*.html"):
        old.chmod(0o644)
        old.unlink()
    path = dest / f"{(course.notebooks(aid) or [aid])[0]}.html"
    path.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>採点できませんでした</title>"
        "</head><body><h2>採点できませんでした</h2>"
        f"<p>課題 <code>{html.escape(aid)}</code> の提出を採点できませんでした。</p>"
        f"<pre>{html.escape(reason)}</pre>"
        "<p>ノートブックが壊れていないか (Jupyter で開けるか)、ファイル名を変えていないかを"
        "確かめて、もう一度提出してください。</p></body></html>", encoding="utf-8")
    return [Path(path)]
