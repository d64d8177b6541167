"""Feedback HTML that shows each test's result and message but not the hidden tests' code,
and the teacher's manual scores and comments as they are in the gradebook.

nbgrader's feedback renders the autograded notebook, whose test cells hold the hidden tests
again (nbgrader #917).  ``HideHiddenTests`` removes those regions and reduces the error
tracebacks of such cells to the check's message (a traceback quotes the failing source line
and the autograders' code); ``FeedbackSummary`` puts a table of all tests and answers on top
(採点済み / 採点待ち for the written answers, with the teacher's comment).  The page is
nncourse's template (``templates/nncourse_feedback``: nbgrader's feedback template in
Japanese) with MathJax 3 inlined from the ``mathjax`` package (django-static-mathjax on
PyPI), so math renders offline and in a page uploaded alone to an LMS.

``configure_feedback`` puts all of this into an nbgrader config; ``course_config.py`` calls
it, so stock ``nbgrader generate_feedback`` (formgrader's "Generate Feedback" button) writes
the same pages as ``nncourse grade`` and ``nncourse feedback``.
"""
import html
import os
from copy import deepcopy
from functools import lru_cache
from pathlib import Path

from nbformat.notebooknode import NotebookNode
from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader import utils as nbutils
from nbgrader.preprocessors import GetGrades, NbGraderPreprocessor
from traitlets import Unicode

from .core.course import Course
from .core.gradebook import gradebook_scores
from .lms import deadlines
from .core.lock import GRADEBOOK_LOCK
from .kernel.nbconfig import nbgrader_config
from .core.repair import repair_notes
from .core.submission import notes_in
from .core.safetext import encodable
from .core.notebook import has_hidden_tests, is_autograded_test, remove_hidden_tests
from .results import cell_message, cell_problems, strip_ansi

HIDDEN_PLACEHOLDER = "# (ここで非公開テストが実行されました)"
PRIVATE_PATHS = ("autograders", "/reference/")   # traceback frames of these files are dropped
TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE = "nncourse_feedback"
A11Y_CSS = TEMPLATES / "shared" / "a11y.css"   # contrast and reflow rules, formgrader's page too
MATHJAX = "es5/tex-svg.js"         # MathJax 3 with its fonts inside (no other file to load)
NO_RESPONSE = "解答がありません (No response)"


@lru_cache(maxsize=1)
def mathjax_js():
    """MathJax's tex-svg.js from the installed ``mathjax`` package, safe to put inside a
    ``<script>`` element ("" when the package is missing: math then stays as LaTeX)."""
    import importlib.util
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        return ""
    for base in spec.submodule_search_locations:
        path = Path(base) / "static" / "mathjax" / MATHJAX
        if path.is_file():
            js = path.read_text(encoding="utf-8")
            # "<!--" (in one regular expression: "\!" is the same character there) and
            # "</script" would change how the HTML parser finds the end of the element
            js = js.replace("<!--", "<\\!--").replace("</script", "<\\/script")
            return "" if "<script" in js.lower() or "</script" in js.lower() else js
    return ""


class FeedbackExporter(HTMLExporter):
    """HTMLExporter for feedback pages: nncourse's template and the inlined MathJax.

    Its own config section (``FeedbackExporter``) wins over ``HTMLExporter``'s, which
    formgrader's Generate Feedback sets to nbgrader's template."""

    def from_notebook_node(self, nb, resources=None, **kw):
        resources = resources if resources is not None else {}
        resources["nncourse"] = {"mathjax": mathjax_js(), "a11y_css": A11Y_CSS.read_text(encoding="utf-8")}
        return super().from_notebook_node(nb, resources, **kw)


def configure_feedback(c):
    """nncourse's feedback pipeline in an nbgrader config (``course_config.configure_nbgrader``)."""
    c.GenerateFeedback.preprocessors = feedback_preprocessors()
    c.GenerateFeedback.exporter_class = FeedbackExporter
    c.FeedbackExporter.template_name = TEMPLATE
    c.FeedbackExporter.extra_template_basedirs = [str(TEMPLATES)]
    return c


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


def late_note_here(student, aid):
    """The late note of a submission of the course in the current directory (stock nbgrader
    runs there)."""
    if not (student and aid):
        return ""
    try:
        return late_note(Course.load(os.getcwd()), aid, student)
    except Exception:        # no course here, no deadline settings: no note
        return ""


def late_note(course, aid, student):
    """The late-penalty sentence for a submission ("" when on time or without a deadline)."""
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
    # a copy: the caller's config (one per run) does not keep this submission's late note
    config = deepcopy(config) if config else nbgrader_config(course)
    configure_feedback(config)        # also for a course_config.py that does not
    config.FeedbackSummary.late_note = late_note(course, aid, student)
    conv = GenerateFeedback(coursedir=course.coursedir(config, aid, student), config=config)
    conv.force = True
    conv.start()
    return sorted(course.feedback_dir(student, aid).glob("*.html"))


FAILURE_STYLE = ("body{font-family:sans-serif;line-height:1.5;margin:1em auto;max-width:50em;"
                 "padding:0 1em;color:#222}pre{white-space:pre-wrap;overflow-wrap:anywhere;"
                 "background:#f5f5f5;padding:.6em}")     # the error wraps at any width


def write_failure_feedback(course, aid, student, reason, notes=()):
    """A one-page feedback for a submission that could not be graded at all (``notes``: what
    the coordinator left out of it, Japanese)."""
    dest = course.feedback_dir(student, aid)
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("*.html"):
        old.chmod(0o644)
        old.unlink()
    path = dest / f"{(course.notebooks(aid) or [aid])[0]}.html"
    listed = "".join(f"<li>{html.escape(encodable(n))}</li>" for n in notes)
    listed = f"<p><b>注意:</b></p><ul>{listed}</ul>" if listed else ""
    path.write_text(
        "<!DOCTYPE html><html lang='ja'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>採点できませんでした ({html.escape(aid)})</title><style>{FAILURE_STYLE}</style>"
        "</head><body><h1>採点できませんでした</h1>"
        f"<p>課題 <code>{html.escape(aid)}</code> の提出を採点できませんでした。</p>"
        f"<pre>{html.escape(encodable(reason))}</pre>{listed}"
        "<p>ノートブックが壊れていないか (Jupyter で開けるか)、ファイル名を変えていないかを"
        "確かめて、もう一度提出してください。</p></body></html>", encoding="utf-8")
    return [Path(path)]
