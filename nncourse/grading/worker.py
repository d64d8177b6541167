"""Grade one student's submissions in this process: autograde, feedback, a result record.

``grade.py`` runs ``python -m nncourse.grading.worker`` once per student (the unit of ``--jobs``
and of crash isolation).  Each finished assignment is announced on stdout as one line
``NNCOURSE-EVENT {json}``; nbgrader's log goes to stderr.
"""
import argparse
import hmac
import json
import logging
import os
import secrets
import sys
import time
import traceback

import nbformat

from .. import manual as manual_grades
from ..build import ErrorLog
from ..course import Course
from ..lock import GRADEBOOK_LOCK
from .execute import GRADING_FLAGS

EVENT = "NNCOURSE-EVENT "
GRADED, FAILED = "graded", "failed"


def result_path(course, aid, student):
    return course.state_dir / "results" / aid / f"{student}.json"


def write_result(course, result):
    path = result_path(course, result["assignment"], result["student"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def read_scores(course, aid, student):
    """{grade_id: (score, max_score, needs_manual_grade)} of a submission in the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry
    scores = {}
    with GRADEBOOK_LOCK, Gradebook(course.db_url, course.course_id) as gb:
        try:
            sub = gb.find_submission(aid, student)
        except MissingEntry:
            return scores
        for nb in sub.notebooks:
            for g in nb.grades:
                scores[g.name] = (float(g.score or 0), float(g.max_score),
                                  bool(g.needs_manual_grade))
    return scores


def _failure_reason(lines, exc):
    """The one line of nbgrader's log that says what went wrong."""
    text = "\n".join(lines)
    for marker in ("NotJSONError", "JSONDecodeError", "ValidationError", "NotebookValidation",
                   "No notebooks", "Error:", "Exception:"):
        for line in reversed(text.splitlines()):
            if marker in line:
                return line.strip()
    return f"{type(exc).__name__}: {exc}" if exc else (lines[-1] if lines else "unknown error")


def reason_in_japanese(reason):
    if "JSON" in reason or "Unreadable" in reason or "NotebookValidation" in reason:
        return f"ノートブックを読み込めませんでした (ファイルが壊れています)。\n{reason}"
    if "No notebooks" in reason:
        return f"提出にノートブックがありませんでした。\n{reason}"
    return f"採点中にエラーが起きました。\n{reason}"


def wrong_files_hint(course, aid, student):
    """What was submitted versus the notebook names the assignment expects."""
    expected = [f"{n}.ipynb" for n in course.notebooks(aid)]
    got = sorted(p.name for p in course.submitted_dir(student, aid).iterdir()) \
        if course.submitted_dir(student, aid).is_dir() else []
    if sorted(expected) == got:
        return ""
    return (f"\n提出されたファイル: {', '.join(got) or '(なし)'}。"
            f"ノートブックは {', '.join(expected)} という名前で提出してください。")


def summarize_flags(flags):
    """The grading flags (execute.GRADING_FLAGS), one entry per (cell, kind, detail) with a count."""
    counts = {}
    for f in flags:
        key = (f["notebook"], f["cell"], f["kind"], f["detail"])
        counts[key] = counts.get(key, 0) + 1
    return [{"notebook": n, "cell": c, "kind": k, "detail": d, "count": count}
            for (n, c, k, d), count in counts.items()]


def submission_seed(course, fingerprint):
    """The secret seed of a submission's random hidden inputs: HMAC of its fingerprint under
    the course's grading secret (state dir, never in a sandbox), the same on every regrade."""
    path = course.state_dir / "grading-secret"
    if not path.exists():                  # made once, atomically (workers start together)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    key = path.read_text().strip().encode()
    return int.from_bytes(hmac.new(key, fingerprint.encode(), "sha256").digest()[:8], "big")


def _set_seed(seed):
    try:
        from autograders.compare import set_submission_seed
    except ImportError:            # a course without the shared helpers (the toy course)
        return
    set_submission_seed(seed)


def grade_one(course, aid, student, fingerprint="", config=None):
    """Autograde and write feedback for one submission; returns its result record."""
    from nbgrader.converters import Autograde
    from ..feedback import generate_feedback, write_failure_feedback
    from ..results import cell_problems, graded_cells

    start = time.monotonic()
    config = config or course.nbgrader_config()
    collect = ErrorLog()
    result = {"student": student, "assignment": aid, "fingerprint": fingerprint,
              "status": GRADED, "error": None, "problems": [], "cells": [], "feedback": []}
    conv = Autograde(coursedir=course.coursedir(aid, student, config), config=config)
    conv.force = True
    conv.log.addHandler(collect)
    GRADING_FLAGS.clear()
    _set_seed(submission_seed(course, fingerprint or f"{student}/{aid}"))
    manual_state = manual_grades.before_autograde(course, aid, student)   # teacher's grades
    try:
        with GRADEBOOK_LOCK:
            conv.start()
    except Exception as exc:  # nbgrader raises after logging what failed
        result["status"] = FAILED
        result["error"] = reason_in_japanese(_failure_reason(collect.lines, exc))
    finally:
        conv.log.removeHandler(collect)
        _set_seed(None)
    graded_nbs = sorted(course.autograded_dir(student, aid).glob("*.ipynb"))
    if result["status"] == GRADED and not graded_nbs:
        result["status"] = FAILED
        result["error"] = reason_in_japanese(_failure_reason(collect.lines, None))
    if result["status"] == FAILED:
        result["error"] += wrong_files_hint(course, aid, student)
    if result["status"] == GRADED:      # nbgrader flagged every manual grade again: undo that
        result["pending_manual"], result["manual_changed"] = manual_grades.after_autograde(
            course, aid, student, manual_state)
    else:
        result["pending_manual"], result["manual_changed"] = [], []
    for path in graded_nbs:
        nb = nbformat.read(path, as_version=4)
        result["cells"] += graded_cells(nb)
        result["problems"] += [m for _, m in cell_problems(nb)]
    result["flags"] = summarize_flags(GRADING_FLAGS)
    GRADING_FLAGS.clear()
    scores = read_scores(course, aid, student)
    for cell in result["cells"]:
        score, max_score, manual = scores.get(cell["grade_id"], (0.0, cell["points"], False))
        cell.update(score=score, max_score=max_score, needs_manual_grade=manual)
    present = {c["grade_id"] for c in result["cells"]}
    for gid, (score, max_score, manual) in scores.items():
        if gid not in present and result["status"] == GRADED:   # deleted by the student
            msg = f"セル {gid} が提出されたノートブックにありませんでした (削除されています)。0 点です。"
            result["cells"].append({"grade_id": gid, "kind": "auto", "points": max_score,
                                    "hidden": False, "message": msg, "score": score,
                                    "max_score": max_score, "needs_manual_grade": manual})
            result["problems"].append(msg)
    result["score"] = sum(s for s, _, _ in scores.values())
    result["max_score"] = sum(m for _, m, _ in scores.values())
    result["feedback_grades"] = manual_grades.grades_digest(course, aid, student)
    try:
        files = (generate_feedback(course, aid, student, config) if result["status"] == GRADED
                 else write_failure_feedback(course, aid, student, result["error"]))
        result["feedback"] = [str(p.relative_to(course.root)) for p in files]
    except Exception as exc:
        result["feedback_error"] = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    result["seconds"] = round(time.monotonic() - start, 2)
    write_result(course, result)
    return result


def setup_grading_process(course):
    """Sandbox the kernels and take part in the gradebook lock (once per process)."""
    from .sandbox import configure_sandbox
    configure_sandbox(course)
    GRADEBOOK_LOCK.configure(course.state_dir / "gradebook.lock")


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m nncourse.grading.worker")
    p.add_argument("--course-dir", default=".")
    p.add_argument("--student", required=True)
    p.add_argument("--assignment", action="append", required=True)
    p.add_argument("--fingerprint", action="append", default=[])
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    course = Course.load(args.course_dir)
    setup_grading_process(course)
    config = course.nbgrader_config()
    prints = dict(zip(args.assignment, args.fingerprint))
    for aid in args.assignment:
        result = grade_one(course, aid, args.student, prints.get(aid, ""), config)
        print(EVENT + json.dumps({"assignment": aid, "student": args.student,
                                  "status": result["status"]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
