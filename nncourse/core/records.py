"""Result records: ``autograded/.nncourse/results/<aid>/<student>.json``, one per graded (or
not gradable) submission, read by feedback, the report and the exports.

``grade/merge.py`` is the only writer (through ``write_result``); everything else reads.
A record says ``status`` (``GRADED`` or ``FAILED``), and for a failure its ``cause``:
``SUBMISSION`` (the student's to fix) or ``GRADER`` (the grading machinery's).
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .course import Course
from .safetext import scrub
from .files import atomic_write

GRADED, FAILED = "graded", "failed"
SUBMISSION, GRADER = "submission", "grader"      # what a FAILED record's cause is


def result_path(course: Course, aid: str, student: str) -> Path:
    return course.state_dir / "results" / aid / f"{student}.json"


def load_result(course: Course, aid: str, student: str) -> dict[str, Any] | None:
    """The record of ``student``'s ``aid``, or None (never graded, or unreadable)."""
    try:
        return json.loads(result_path(course, aid, student).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def load_results(course: Course, aids: Iterable[str]) -> dict[tuple[str, str], dict[str, Any]]:
    """{(student, aid): record} of every recorded submission of ``aids``."""
    found = {}
    for aid in aids:
        for student in course.students([aid]):
            record = load_result(course, aid, student)
            if record is not None:
                found[(student, aid)] = record
    return found


def write_result(course: Course, record: dict[str, Any]) -> None:
    """Write ``record`` atomically (a reader sees the old record or the new one)."""
    atomic_write(result_path(course, record["assignment"], record["student"]),
                 json.dumps(scrub(record), ensure_ascii=False, indent=1))


def scores_into(record: dict[str, Any], scores: dict[str, tuple[float, float, bool]]) -> None:
    """Copy the gradebook's ``scores`` ({grade_id: (score, max_score, needs_manual_grade)},
    ``gradebook.read_scores``) into ``record``'s cells and totals."""
    for cell in record.get("cells", []):
        if cell["grade_id"] in scores:
            score, max_score, flag = scores[cell["grade_id"]]
            cell.update(score=score, max_score=max_score, needs_manual_grade=flag)
    record["score"] = sum(s for s, _, _ in scores.values())
    record["max_score"] = sum(m for _, m, _ in scores.values())
