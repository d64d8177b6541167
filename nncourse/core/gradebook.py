"""Every access to the course's nbgrader gradebook (``gradebook.db`` or the
``GRADEBOOK_URL`` database) opens it here: under the gradebook lock (one writer at a time
across processes, ``lock.GRADEBOOK_LOCK``), with one look-up of a submission that may be
missing, and the reads the report, feedback and merge share.
"""
from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .course import Course
from .lock import GRADEBOOK_LOCK

if TYPE_CHECKING:
    from nbgrader.api import SubmittedAssignment


@contextmanager
def session(course: Course, locked: bool = True) -> Iterator[Gradebook]:
    """An open nbgrader ``Gradebook`` of ``course``, under the gradebook lock unless
    ``locked`` is False (a worker's own scratch gradebook, which no one else opens)."""
    if locked:
        with GRADEBOOK_LOCK, Gradebook(course.db_url, course.course_id) as gb:
            yield gb
    else:
        with Gradebook(course.db_url, course.course_id) as gb:
            yield gb


_SCRATCH: set[str] = set()     # this process's scratch gradebooks (real paths of SQLite files)


def mark_scratch(path: str | os.PathLike[str]) -> None:
    """``path`` is a scratch gradebook: a worker's copy of an assignment's template, or the
    template being made.  It is made again when lost, so its commits do not wait for the
    disk (SQLite ``synchronous=OFF``, journal in memory): nbgrader commits once per cell, and
    each commit's fsync took about 20 ms on this project's machine (177 commits: 3.5 s on
    disk, 0.05 s without the wait).  The course's own gradebook is never marked."""
    _SCRATCH.add(os.path.realpath(path))


@event.listens_for(Engine, "connect")
def _scratch_without_fsync(dbapi_connection: Any, _record: Any) -> None:
    if not _SCRATCH or not isinstance(dbapi_connection, sqlite3.Connection):
        return
    path = dbapi_connection.execute("PRAGMA database_list").fetchone()[2]
    if path and os.path.realpath(path) in _SCRATCH:
        dbapi_connection.execute("PRAGMA synchronous=OFF")
        dbapi_connection.execute("PRAGMA journal_mode=MEMORY")


def find_submission(gb: Gradebook, aid: str, student: str) -> SubmittedAssignment | None:
    """``student``'s submission of ``aid`` in the open gradebook ``gb``, or None."""
    try:
        return gb.find_submission(aid, student)
    except MissingEntry:
        return None


def read_scores(course: Course, aid: str, student: str,
                gb: Gradebook | None = None) -> dict[str, tuple[float, float, bool]]:
    """{grade_id: (score, max_score, needs_manual_grade)} of a submission in the gradebook."""
    if gb is None:
        with session(course) as gb:
            return read_scores(course, aid, student, gb)
    sub = find_submission(gb, aid, student)
    if sub is None:
        return {}
    return {g.name: (float(g.score or 0), float(g.max_score), bool(g.needs_manual_grade))
            for nb in sub.notebooks for g in nb.grades}


def gradebook_scores(course: Course,
                     aids: Iterable[str]) -> dict[tuple[str, str], dict[str, Any]]:
    """{(student, aid): {score, max_score, needs_manual_grade, timestamp, grades, comments}}
    from the gradebook; ``grades``: {grade_id: {score, max_score, auto_score, manual_score,
    needs_manual_grade, cell_type}}, ``comments``: {cell name: the teacher's comment} (what
    formgrader shows now)."""
    out = {}
    if not course.has_gradebook():      # nothing built or graded yet: do not create one here
        return out
    with session(course) as gb:
        for aid in aids:
            try:
                assignment = gb.find_assignment(aid)
            except MissingEntry:
                continue
            for sub in assignment.submissions:
                grades, comments = {}, {}
                for nb in sub.notebooks:
                    comments.update({c.name: c.manual_comment for c in nb.comments
                                     if c.manual_comment})
                    for g in nb.grades:
                        grades[g.name] = {
                            "score": float(g.score or 0), "max_score": float(g.max_score or 0),
                            "auto_score": g.auto_score, "manual_score": g.manual_score,
                            "needs_manual_grade": bool(g.needs_manual_grade),
                            "cell_type": g.cell.cell_type}
                out[(sub.student.id, aid)] = {
                    "score": float(sub.score or 0), "max_score": float(sub.max_score or 0),
                    "needs_manual_grade": bool(sub.needs_manual_grade),
                    "timestamp": sub.timestamp.isoformat() if sub.timestamp else "",
                    "grades": grades, "comments": comments}
    return out
