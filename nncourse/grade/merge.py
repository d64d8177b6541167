"""The coordinator's side of a grading task: the one writer of the course's results.

Each ``TaskResult`` a worker returns (``task.py``) is merged here, in the process that runs
``nncourse grade``, in this order:

Steps 1-4 and the scores the record and the feedback need are one gradebook session (one
lock, one connection) per result:

1. the teacher's confirmed manual grades are noted (``manual.before_autograde``);
2. ``autograded/<student>/<aid>/`` is replaced as a whole (a new folder renamed into place);
3. the automatic scores and comments go into the gradebook through ``nbgrader.api``, matched
   by names, in one transaction; manual scores and manual comments are never written;
4. the manual flags are put back (``manual.after_autograde``);
5. the feedback: the worker's pages (they load MathJax from ``feedback/_mathjax/``, written
   here when missing) when they show what the gradebook now says, else made
   here from the merged gradebook (a manual score, a comment, a late penalty) and the
   autograded notebooks (with the coordinator's notes on what it left out of the submission,
   ``submission.with_notes``, which the worker never saw);
6. the result record ``autograded/.nncourse/results/<aid>/<student>.json`` last (atomic).

A run killed before step 6 leaves no record with the new fingerprint, so the next
``nncourse grade`` grades that submission again; merging it twice writes the same rows.
"""
from __future__ import annotations

import os
import shutil
import time
import warnings
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SAWarning

from .. import manual
from ..feedback.late import late_note
from ..feedback.mathjax import ensure_shared
from ..feedback.write import generate_feedback, write_failure_feedback
from ..core.course import Course
from ..core.gradebook import read_scores, session
from ..core.lock import GRADEBOOK_LOCK
from ..core.records import GRADED, load_result, scores_into, write_result
from ..core.submission import with_notes
from .task import TaskResult

if TYPE_CHECKING:
    from traitlets.config import Config


def replace_dir(dest: str | os.PathLike[str], files: Mapping[str, bytes]) -> None:
    """Make ``dest`` hold exactly ``files`` ({relative path: bytes}): written beside it,
    then renamed into place, so a reader sees the old folder or the new one."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    new = dest.with_name(f".{dest.name}.new-{os.getpid()}")
    old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
    for d in (new, old):
        shutil.rmtree(d, ignore_errors=True)
    new.mkdir()
    for rel, data in files.items():
        path = (new / rel).resolve()
        if new.resolve() not in path.parents:
            raise ValueError(f"result file outside its folder: {rel!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    if dest.exists():
        os.rename(dest, old)
    os.rename(new, dest)
    shutil.rmtree(old, ignore_errors=True)


def _write_grades(gb, aid, student, result):
    """nbgrader's SaveAutoGrades, from the worker's scores: auto scores and auto comments."""
    gb.update_or_create_student(student)
    stamp = result.record.get("timestamp")
    if stamp:
        sub = gb.update_or_create_submission(aid, student,
                                             timestamp=datetime.fromisoformat(stamp))
    else:
        sub = gb.update_or_create_submission(aid, student)
    for nb in sub.notebooks:
        scores = result.grades.get(nb.name, {})
        comments = result.comments.get(nb.name, {})
        for g in nb.grades:
            if g.name in scores:
                g.auto_score = scores[g.name][0]
            g.needs_manual_grade = g.manual_score is not None or g.auto_score is None
        for c in nb.comments:
            if c.name in comments:
                c.auto_comment = comments[c.name]
    gb.db.commit()


def merge(course: Course, result: TaskResult, config: Config | None = None) -> dict[str, Any]:
    """Write one ``TaskResult`` into the course (see the module's docstring); returns the
    result record as written."""
    record = dict(result.record)
    aid, student = record["assignment"], record["student"]
    notes = record.get("submission_notes_ja") or []      # the coordinator's, not the worker's
    t = time.monotonic()
    with session(course) as gb:          # one gradebook session (and lock) for the result
        if record["status"] == GRADED:
            state = manual.before_autograde(course, aid, student, gb)
            t1 = time.monotonic()
            replace_dir(course.autograded_dir(student, aid), with_notes(result.autograded, notes))
            result.stages["merge_files"] = time.monotonic() - t1
            with warnings.catch_warnings():
                # nbgrader's add_submission autoflushes a half-made row (the same in its autograde)
                warnings.simplefilter("ignore", SAWarning)
                _write_grades(gb, aid, student, result)
            record["pending_manual"], record["manual_changed"] = manual.after_autograde(
                course, aid, student, state, gb)
        else:
            record["pending_manual"], record["manual_changed"] = [], []
        scores = read_scores(course, aid, student, gb)
        shown = manual.grades_digest(course, aid, student, gb)   # what feedback must show
    for cell in record["cells"]:          # a cell the gradebook lacks scores nothing
        if cell["grade_id"] not in scores:
            cell.update(score=0.0, max_score=cell["points"], needs_manual_grade=False)
    present = {c["grade_id"] for c in record["cells"]}
    for gid, (score, max_score, flag) in scores.items():
        if gid not in present and record["status"] == GRADED:   # deleted by the student
            msg = f"セル {gid} が提出されたノートブックにありませんでした (削除されています)。0 点です。"
            record["cells"].append({"grade_id": gid, "kind": "auto", "points": max_score,
                                    "hidden": False, "message": msg, "score": score,
                                    "max_score": max_score, "needs_manual_grade": flag})
            record["problems"].append(msg)
    scores_into(record, scores)
    result.stages["merge_gradebook"] = time.monotonic() - t - result.stages.get("merge_files", 0.0)
    t = time.monotonic()
    try:
        if record["status"] != GRADED:
            files = write_failure_feedback(course, aid, student, record["error"], notes)
        elif (result.feedback and not notes and result.feedback_grades == shown
              and not late_note(course, aid, student)):
            ensure_shared(course.feedback_root)     # the worker's pages load it from there
            replace_dir(course.feedback_dir(student, aid), result.feedback)
            files = sorted(course.feedback_dir(student, aid).glob("*.html"))
        else:                        # the gradebook says more than the worker knew
            files = generate_feedback(course, aid, student, config)
            shown = manual.grades_digest(course, aid, student)
        record["feedback"] = [str(p.relative_to(course.root)) for p in files]
        record.pop("feedback_error", None)
    except Exception as exc:
        record["feedback_error"] = f"{type(exc).__name__}: {exc}"
    result.stages["merge_feedback"] = time.monotonic() - t
    t = time.monotonic()
    record["feedback_grades"] = shown
    write_result(course, record)
    result.stages["merge_record"] = time.monotonic() - t
    return record


def rebuild_feedback(course: Course, aid: str, student: str,
                     config: Config | None = None) -> dict[str, Any] | None:
    """Feedback again from the autograded notebooks and the gradebook, without grading, and
    the submission's result record brought up to date (scores, pending manual grades).
    Returns the updated record, or None when the submission has no graded result."""
    GRADEBOOK_LOCK.configure(course.state_dir / "gradebook.lock")
    result = load_result(course, aid, student)
    if (result is None or result.get("status") != GRADED
            or not any(course.autograded_dir(student, aid).glob("*.ipynb"))):
        return None
    scores = read_scores(course, aid, student)
    scores_into(result, scores)
    result["pending_manual"] = [gid for gid, (_, _, flag) in scores.items() if flag]
    still = set(result["pending_manual"])
    result["manual_changed"] = [g for g in result.get("manual_changed", []) if g in still]
    result["feedback_grades"] = manual.grades_digest(course, aid, student)
    files = generate_feedback(course, aid, student, config)
    result["feedback"] = [str(p.relative_to(course.root)) for p in files]
    result.pop("feedback_error", None)
    write_result(course, result)
    return result
