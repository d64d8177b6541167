"""The nbgrader preprocessors of a feedback page: the grades read under the grading lock with
the manual-grading state (``LockedGetGrades``), the hidden tests' code and tracebacks removed
(``HideHiddenTests``), the notebook's own visible-test table replaced by a pointer
(``ReplaceSelfCheck``), and a summary of every test and answer on top (``FeedbackSummary``)."""
import html

from nbformat.notebooknode import NotebookNode
from nbgrader import utils as nbutils
from nbgrader.preprocessors import GetGrades, NbGraderPreprocessor
from traitlets import Unicode

from ..core.lock import GRADEBOOK_LOCK
from ..core.notebook import (has_hidden_tests, is_autograded_test, is_check_summary,
                             remove_hidden_tests)
from ..core.repair import repair_notes
from ..core.submission import notes_in
from ..results import cell_message, cell_problems, strip_ansi
from .late import late_note_here

HIDDEN_PLACEHOLDER = "# (ここで非公開テストが実行されました)"
PRIVATE_PATHS = ("autograders", "/reference/")   # traceback frames of these files are dropped
NO_RESPONSE = "解答がありません (No response)"
SELF_CHECK_NOTE = ("(ここには提出前の確認用の「見えているテストの結果」の表がありました。採点の結果は、"
                   "隠しテストも含めて、このページの最初の「テストと解答ごとの点数とメッセージ」の表に"
                   "あります。)")


class LockedGetGrades(GetGrades):
    """GetGrades reading the gradebook under the grading lock; also the manual-grading flag
    and whether a comment is the teacher's."""

    def preprocess(self, nb, resources):
        with GRADEBOOK_LOCK:
            return super().preprocess(nb, resources)

    def _get_score(self, cell, resources):
        super()._get_score(cell, resources)
        grade = self.gradebook.find_grade(cell.metadata["nbgrader"]["grade_id"], self.notebook_id,
                                          self.assignment_id, self.student_id)
        meta = cell.metadata.nbgrader
        meta["needs_manual_grade"] = bool(grade.needs_manual_grade)
        meta["manual_score"] = grade.manual_score
        meta["auto_score"] = grade.auto_score

    def _get_comment(self, cell, resources):
        super()._get_comment(cell, resources)
        comment = self.gradebook.find_comment(cell.metadata["nbgrader"]["grade_id"],
                                              self.notebook_id, self.assignment_id,
                                              self.student_id)
        meta = cell.metadata.nbgrader
        meta["teacher_comment"] = bool((comment.manual_comment or "").strip())
        if not meta["teacher_comment"]:
            meta["comment"] = NO_RESPONSE if comment.auto_comment == "No response." else None


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


class ReplaceSelfCheck(NbGraderPreprocessor):
    """The summary cell's table (the visible tests as the student's kernel saw them: ✓ can
    stand where a hidden test gave 0) is replaced by a pointer to the grader's table on top."""

    def preprocess_cell(self, cell, resources, index):
        if is_check_summary(cell):
            cell.outputs = [NotebookNode(output_type="stream", name="stdout",
                                         text=SELF_CHECK_NOTE + "\n")]
        return cell, resources


def _points(x):
    return f"{float(x or 0):g}"


def summary_row(cell):
    """(row class, score text, message) of one grade or task cell (after LockedGetGrades)."""
    meta = cell.metadata.nbgrader
    score, points = meta.get("score"), meta.get("points", 0)
    auto = is_autograded_test(cell)
    comment = (meta.get("comment") or "").strip() if meta.get("teacher_comment") else ""
    said = f"先生のコメント: {comment}" if comment else ""
    if meta.get("needs_manual_grade"):
        what = ("採点待ち: 先生が採点します (手動採点)" if not auto else
                "採点待ち: 先生が確認します (自動採点の結果: "
                f"{_points(meta.get('auto_score'))} / {_points(points)})")
        return "pending", f"– / {_points(points)}", what
    if not auto:
        return ("ok" if score is not None and score >= points else "ng",
                f"{_points(score)} / {_points(points)}",
                "採点済み (手動採点)" + (f"。{said}" if said else ""))
    ok = score is not None and score >= points
    msg = cell.metadata.get("nncourse", {}).get("message") or ("合格" if ok else "")
    if meta.get("manual_score") is not None:
        msg = (f"先生が点数を {_points(meta['manual_score'])} 点にしました (自動採点: "
               f"{_points(meta.get('auto_score'))} 点)。" + msg)
    return ("ok" if ok else "ng", ("✓ " if ok else "✗ ") + f"{_points(score)} / {_points(points)}",
            msg + (f"。{said}" if said else ""))


def _where(nb, index):
    """How a student finds cell ``index``: its grade id or the heading above it."""
    cell = nb.cells[index]
    gid = cell.metadata.get("nbgrader", {}).get("grade_id")
    if gid:
        return f"セル {index + 1} ({gid})"
    for prev in reversed(nb.cells[:index]):
        if prev.cell_type == "markdown" and prev.source.lstrip().startswith("#"):
            return f"セル {index + 1} (「{prev.source.strip().splitlines()[0].lstrip('# ')}」の節)"
    return f"セル {index + 1}"


class FeedbackSummary(NbGraderPreprocessor):
    """A first cell with the total, every test's and answer's points and message, the
    manual grading state (採点済み / 採点待ち) and the teacher's comments (after GetGrades)."""

    late_note = Unicode(None, allow_none=True, help="The late-penalty sentence of the "
                        "submission whose feedback this run writes (``generate_feedback`` "
                        "sets it; None: computed from the course in the current directory, "
                        "as under stock `nbgrader generate_feedback`).").tag(config=True)

    def preprocess(self, nb, resources):
        rows, pending, pending_points = [], 0, 0.0
        for cell in nb.cells:
            if not (nbutils.is_grade(cell) or nbutils.is_task(cell)):
                continue
            kind, result, msg = summary_row(cell)
            if kind == "pending":
                pending += 1
                pending_points += float(cell.metadata.nbgrader.get("points") or 0)
            gid = html.escape(cell.metadata.nbgrader["grade_id"])
            # spaces between the cells: the page's text (copied, read aloud) stays readable
            rows.append(f"<tr class='{kind}'> <td class='test'><code>{gid}</code></td> "
                        f"<td class='score'>{html.escape(result)}</td> "
                        f"<td class='msg'>{html.escape(msg or '')}</td> </tr>")
        problems = "".join(f"<li>{html.escape(m)} ({html.escape(_where(nb, i))})</li>"
                           for i, m in cell_problems(nb))
        problems += "".join(f"<li>{html.escape(n['ja'])}</li>" for n in repair_notes(nb))
        problems += "".join(f"<li>{html.escape(n)}</li>" for n in notes_in(nb))   # files left out
        info = resources.get("nbgrader", {})
        late = self.late_note if self.late_note is not None else \
            late_note_here(info.get("student"), info.get("assignment"))
        total = ""
        if "score" in info:
            total = (f"<p class='nncourse-total'><b>合計: {_points(info['score'])} / "
                     f"{_points(info.get('max_score'))} 点</b>"
                     + (f" (記述式など {pending} 問、{_points(pending_points)} 点分はまだ採点されて"
                        "いません: 採点待ち)" if pending else "") + "</p>")
        text = ("<h2>採点結果の概要</h2>" + total
                + (f"<p><b>{html.escape(late)}</b></p>" if late else "")
                + (f"<p><b>注意:</b></p><ul>{problems}</ul>" if problems else "")
                + "<table class='nncourse-summary'><caption>テストと解答ごとの点数とメッセージ"
                  "</caption><tr><th scope='col'>テスト・解答</th>"
                  "<th scope='col' class='score'>点数</th><th scope='col'>メッセージ</th></tr>"
                + "".join(rows) + "</table>"
                + "<p>非公開テストのコードは表示されません。メッセージを手がかりに直してください。</p>")
        nb.cells.insert(0, NotebookNode(cell_type="markdown", metadata={}, source=text,
                                        attachments={}))
        return nb, resources
