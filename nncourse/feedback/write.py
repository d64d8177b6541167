"""A submission's feedback pages: nbgrader's GenerateFeedback with nncourse's pipeline
(``generate_feedback``), or one page saying why it could not be graded
(``write_failure_feedback``)."""
import html
from copy import deepcopy
from pathlib import Path

from ..core.safetext import encodable
from ..kernel.nbconfig import nbgrader_config
from .late import late_note
from .page import configure_feedback


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
