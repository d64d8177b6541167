"""nncourse's Python API: one function per command of ``nncourse`` (the CLI only parses and
prints; tests call these).

- ``build``: generate the releases, refusing any that would leak (``build.py``);
- ``collect``: take an LMS download into submitted/ (``lms/collecting.py``);
- ``grade``: autograde, feedback, CSV and report (``grade.py``);
- ``feedback``: rebuild the feedback pages from the gradebook, without grading;
- ``export``: grades and feedback files for the LMS (``export.py``); by LTI AGS through
  ``nncourse.lti.api.export``;
- ``similarity``: pairs of students with similar solution cells (``lms/similarity.py``);
- ``formgrader``: nbgrader's formgrader for manual grading (``formgrader.py``);
- ``validate``: grade the reference solutions (``validate.py``);
- ``check``: a student's own check of a notebook (``check.py``);
- ``demo``: build and grade a sample cohort (``demo.py``);

The LTI 1.3 tool (``nncourse lti``, ``export --format lti``) has its own API,
``nncourse/lti/api.py``: it loads Flask and pylti1p3, which no other command needs.

The errors a command raises for bad input (a usage or configuration error the instructor can
fix) are exported here too.
"""
from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from .build import BuildError, build
from .check import check_notebook as check
from .cohort import CohortError
from .core.course import Course, CourseError
from .demo import demo
from .formgrader import serve as formgrader
from .grade.run import GradeRun, GradingInterrupted, grade
from .grade.executors import ExecutorError
from .grade.merge import rebuild_feedback
from .lms.archive import ArchiveError
from .lms.collecting import CollectResult, collect_download
from .lms.deadlines import DeadlineError
from .export import ExportError, ExportResult, export as export_files
from .lms.roster import Roster, RosterError
from .lms.similarity import find_similar as similarity
from .core.lock import CourseBusy
from .manual import answers_changed, format_pending, pending_manual
from .validate import validate

__all__ = ["ArchiveError", "BuildError", "CohortError", "CollectResult", "Course", "CourseBusy",
           "CourseError", "DeadlineError", "ExecutorError", "ExportError", "FeedbackRun",
           "GradeRun", "GradingInterrupted", "RosterError", "build", "check", "collect",
           "demo", "export", "feedback", "format_pending", "formgrader", "grade", "similarity",
           "validate"]


def export(course: Course, aid: str, fmt: str, roster: Roster | None = None,
           dest: str | os.PathLike[str] | None = None) -> ExportResult:
    """Grades of ``aid`` for the LMS: files in ``fmt`` "moodle", "canvas" or "csv"
    (``export.py``); "lti" (posted by AGS) is ``nncourse.lti.api.export``."""
    if fmt == "lti":
        raise ExportError("grades go to the LMS by AGS through nncourse.lti.api.export "
                          "(`nncourse export ASSIGNMENT --format lti`)")
    return export_files(course, aid, fmt, roster=roster, dest=dest)


def collect(course: Course, aid: str, path: str | os.PathLike[str],
            roster: str | os.PathLike[str] | Roster | None = None,
            worksheet: str | os.PathLike[str] | None = None, lms: str = "auto",
            replace: bool = False) -> CollectResult:
    """Place the submissions found at ``path`` (a zip as downloaded from the LMS, or a folder)
    into submitted/; returns a CollectResult listing what was placed and what was not, and why.

    ``roster``: a roster CSV (path) or ``lms.roster.Roster``; ``worksheet``: Moodle's grading
    worksheet CSV downloaded with the submissions (submission times, e-mail addresses);
    ``lms``: "auto" (from the file names), "moodle", "canvas" or "files"; ``replace``: an
    unreadable notebook replaces a readable one all the same (the old one is backed up in
    ``submitted/.nncourse-backup/``).  ArchiveError when the download cannot be read at all
    (nothing is placed).  The layouts and the rules: ``lms/collecting.py``."""
    aid = course.select([aid])[0]
    return collect_download(course, aid, Path(path), lms=lms, roster=roster,
                            worksheet=worksheet, replace=replace)


@dataclass
class FeedbackRun:
    """What ``feedback`` rebuilt, what it could not (not graded yet) and the manual grading
    still pending."""
    course: Course
    rebuilt: list[tuple[str, str]] = field(default_factory=list)  # (student, assignment)
    not_graded: list[tuple[str, str]] = field(default_factory=list)  # (student, assignment)
    pending_manual: list = field(default_factory=list)
    answers_changed: list[tuple[str, str, list[str]]] = field(default_factory=list)

    def format(self) -> str:
        lines = [f"{student}/{aid}: {path.relative_to(self.course.root)}"
                 for student, aid in self.rebuilt
                 for path in sorted(self.course.feedback_dir(student, aid).glob("*.html"))]
        lines.append(f"feedback rebuilt for {len(self.rebuilt)} graded submission(s)"
                     + (f"; {len(self.not_graded)} not graded yet (run nncourse grade): "
                        + ", ".join(f"{s}/{a}" for s, a in self.not_graded)
                        if self.not_graded else ""))
        return "\n".join(lines + format_pending(self.pending_manual, self.answers_changed))


def feedback(course: Course, assignments: Collection[str] | None = None) -> FeedbackRun:
    """Rebuild every submitted student's feedback pages from the gradebook (manual scores and
    comments included), without grading."""
    aids = course.select(assignments)
    run = FeedbackRun(course)
    for aid in aids:
        for student in course.students([aid]):
            if course.submitted_dir(student, aid).is_dir():
                done = rebuild_feedback(course, aid, student) is not None
                (run.rebuilt if done else run.not_graded).append((student, aid))
    run.pending_manual = pending_manual(course, aids)
    run.answers_changed = answers_changed(course, run.pending_manual)
    return run
