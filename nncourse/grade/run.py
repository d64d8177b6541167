"""``nncourse grade``: autograde every submission, feedback, CSV and report, in one command.

The coordinator (this module) makes one self-contained task per submission that changed
(``grade/task.py``), hands them to an executor (``grade/executors.py``: local processes,
or Dask) and merges each result into the course as it comes back (``grade/merge.py``, the
one writer of the gradebook and of ``autograded/``, ``feedback/`` and the result records).
A task that crashes or overruns its time only costs that submission, which is recorded as
not graded with its reason.
"""
from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Collection, Iterable
from html import escape
import threading
import time
from itertools import chain
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from ..build import ensure_built
from ..core.course import Course, tree_digest
from .executors import DaskExecutor, LocalExecutor, make_executor
from .merge import merge, rebuild_feedback
from ..kernel.sandbox import available, protections, warning
from ..core.submission import Scan, digest, refusal, scan
from .inputs import make_inputs, read_submission, submission_seed
from .task import GradingTask, not_graded
from ..core.lock import GRADEBOOK_LOCK, one_run_at_a_time
from ..manual import answers_changed, pending_manual, stale_feedback
from ..kernel.nbconfig import nbgrader_config
from ..core.records import GRADED, GRADER, load_result
from ..report.data import Report
from ..report.write import write_report

VERSION = "2"     # bump when grading changes in a way that must regrade everything
EXIT_OK, EXIT_NOT_GRADED = 0, 1


class GradingInterrupted(Exception):
    """Ctrl-C (SIGINT) while grading: the workers and their kernels were ended; the results
    merged so far are kept, and the next ``grade`` skips them."""

    def __init__(self, merged: int, total: int) -> None:
        super().__init__(f"Interrupted: {merged} of {total} submission(s) merged; run "
                         "`nncourse grade` again to grade the rest")
        self.merged, self.total = merged, total


class _WholeMerges:
    """SIGINT raises KeyboardInterrupt as usual, except while a result is being merged (then
    right after it: a merge is never cut in half) and while the workers are being ended
    (``hold``).  Installed in the main thread only."""

    def __init__(self):
        self.merging = self.pending = False
        self.merged = 0               # results merged whole
        self.old = None
        if threading.current_thread() is threading.main_thread():
            self.old = signal.signal(signal.SIGINT, self._handler)

    def _handler(self, signum, frame):
        if self.merging:
            self.pending = True
        else:
            raise KeyboardInterrupt

    def merge(self, *args: Any) -> dict[str, Any]:
        self.merging = True
        try:
            record = merge(*args)
            self.merged += 1
            return record
        finally:
            self.merging = False
            if self.pending:
                raise KeyboardInterrupt

    def hold(self) -> None:
        self.merging = True

    def remove(self) -> None:
        if self.old is not None:
            signal.signal(signal.SIGINT, self.old)


@dataclass
class GradeRun:
    """What one ``grade`` did: per-submission results and where the outputs are."""
    results: list[dict[str, Any]] = field(default_factory=list)  # result records (dicts), graded or not
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (student, aid) unchanged since graded
    report: Report | None = None                     # report/data.py: Report
    seconds: float = 0.0
    sandboxed: bool = True                           # kernels ran in bwrap (sandbox.py)
    warnings: list[str] = field(default_factory=list)  # loud lines for the summary and report
    pending_manual: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (student, aid) -> [grade_id] to grade by hand
    feedback_rebuilt: list[tuple[str, str]] = field(default_factory=list)  # (student, aid) skipped, but manual grades changed
    answers_changed: list[tuple[str, str, list[str]]] = field(default_factory=list)  # (student, aid, [grade_id]) pending because
                                                          # the answer changed since graded (any run)
    executor: str = ""                                    # where the tasks ran (describe())
    unnamed: list[tuple[str, str]] = field(default_factory=list)  # student folders no id can name
                                                          # (not UTF-8, _mathjax): not graded

    @property
    def manual_changed(self) -> list[tuple[str, str, list[str]]]:
        """(student, aid, [grade_id]) whose manual grade was flagged again: the answer changed."""
        return [(r["student"], r["assignment"], r["manual_changed"]) for r in self.results
                if r.get("manual_changed")]

    @property
    def not_graded(self) -> list[dict[str, Any]]:
        return [r for r in self.results if r["status"] != GRADED]

    @property
    def grader_failures(self) -> list[dict[str, Any]]:
        """Not graded because of the grading machinery (never the student's fault)."""
        return [r for r in self.not_graded if r.get("cause") == GRADER]

    @property
    def exit_status(self) -> int:
        return EXIT_NOT_GRADED if self.not_graded or self.unnamed else EXIT_OK


def grading_inputs_digest(course: Course, aid: str) -> str:
    """Everything besides the submission that decides its grade."""
    checks = sorted(p for p in (course.root / "autograders").iterdir()
                    if p.name != "catalogue")            # the catalogues do not grade
    return tree_digest([course.source_dir(aid), *checks, course.root / "reference",
                        course.root / "course_config.py",
                        course.root / "nbgrader_config.py"]) + VERSION


def fingerprint(course: Course, aid: str, student: str, inputs: str,
                found: Scan | None = None) -> str:
    """The submission's digest (what is sent to grading, ``submission.digest``) + inputs."""
    return digest(found or scan(course, aid, student)) + ":" + inputs


def _is_current(course, aid, student, fp, old):
    """``old`` (the submission's result record, or None) is of this fingerprint, graded and
    with its files."""
    return (old is not None and old.get("status") == GRADED and old.get("fingerprint") == fp
            and any(course.autograded_dir(student, aid).glob("*.ipynb"))
            and all((course.root / f).exists() for f in old.get("feedback", [])))


def protections_section() -> tuple[str, str]:
    """(title, html) for the report: which layers of the grading sandbox were on."""
    rows = "".join(f"<tr><td class='l'>{escape(layer)}</td><td>{'on' if on else '<b>OFF</b>'}"
                   f"</td><td class='l'>{escape(note)}</td></tr>" for layer, on, note in protections())
    return ("採点の隔離 (Sandbox): what protected this run",
            "<table><tr><th class='l'>layer</th><th>state</th><th class='l'>what</th></tr>"
            f"{rows}</table>")


def refresh_feedback(course: Course,
                     submissions: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Rebuild the feedback of unchanged submissions whose grades changed in the gradebook
    since (a manual score or comment from formgrader); returns those (student, aid)."""
    GRADEBOOK_LOCK.configure(course.state_dir / "gradebook.lock")
    records = [r for r in (load_result(course, aid, student) for student, aid in submissions)
               if r is not None]
    done = []
    for r in stale_feedback(course, records):
        if rebuild_feedback(course, r["assignment"], r["student"]) is not None:
            done.append((r["student"], r["assignment"]))
    return done


def _order(course, todo, seconds):
    """Longest first (the last run's seconds, ``seconds``: {(aid, student): s} read with the
    plan, else later assignments first: a4 trains on MNIST), so that the last tasks to
    finish are short ones."""
    def cost(item):
        aid, student = item
        return (-(seconds.get(item) or 0), -course.assignments.index(aid), student)
    return sorted(todo, key=cost)


@one_run_at_a_time
def grade(course: Course, assignments: Collection[str] | None = None, jobs: int = 1,
          force: bool = False, progress: bool = True, report: bool = True,
          report_sections: Callable[[GradeRun], Iterable[tuple[str, str]]] | None = None,
          executor: LocalExecutor | DaskExecutor | None = None, dask: str | None = None,
          scheduler: str | None = None) -> GradeRun:
    """Grade all submissions of ``assignments`` (default: all); returns a ``GradeRun``.

    ``executor``: a ``grading.executors`` executor (default: made from ``jobs``, ``dask``
    (``"local"``) and ``scheduler`` (an address), see ``make_executor``).
    ``report_sections``: optional function GradeRun -> [(title, html fragment)] whose
    sections the HTML report shows (``autograders.catalogue.grading`` uses it)."""
    start = time.monotonic()
    aids = course.select(assignments)
    ensure_built(course, aids)
    GRADEBOOK_LOCK.configure(course.state_dir / "gradebook.lock")
    run = GradeRun(sandboxed=available())
    if warning():
        run.warnings.append(warning())
    todo, prints, digests, scans, refused, seconds = [], {}, {}, {}, [], {}
    for aid in aids:
        digests[aid] = grading_inputs_digest(course, aid)
        for name, why in course.unnamed_students([aid]):   # no record, page or row can name it
            run.unnamed.append((name, aid))
            run.warnings.append(f"NOT GRADED submitted/{name}/{aid}: {why}")
        for student in course.students([aid]):
            if not course.submitted_dir(student, aid).is_dir():
                continue
            try:              # whatever is in the folder costs only this student
                scans[(student, aid)] = scan(course, aid, student)
                fp = fingerprint(course, aid, student, digests[aid], scans[(student, aid)])
            except Exception as exc:
                refused.append(not_graded(GradingTask(aid, student, "", 0, digests[aid], None),
                                          *refusal(exc)))
                continue
            prints[(student, aid)] = fp
            old = load_result(course, aid, student)
            if not force and _is_current(course, aid, student, fp, old):
                run.skipped.append((student, aid))
            else:
                todo.append((aid, student))
                seconds[(aid, student)] = (old or {}).get("seconds")
    inputs = {digests[aid]: make_inputs(course, aid, digests[aid])
              for aid in {a for a, _ in todo}}
    tasks = [GradingTask(aid, student, prints[(student, aid)],
                         submission_seed(course, prints[(student, aid)]), digests[aid], None)
             for aid, student in _order(course, todo, seconds)]

    def load(task):             # an executor reads a submission just before sending it
        try:
            task.files = read_submission(course, task.assignment, task.student,
                                         scans[(task.student, task.assignment)])
        except Exception as exc:                 # a TaskResult: not graded, not sent
            return not_graded(task, *refusal(exc))
        return task
    bar = tqdm(total=len(tasks) + len(refused), desc="grading", unit="nb", file=sys.stderr,
               disable=not progress,
               bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]{postfix}")
    own = executor is None and bool(tasks)
    if own:
        executor = make_executor(course, jobs, dask=dask, scheduler=scheduler)
    run.executor = executor.describe() if executor is not None else "none"
    config = nbgrader_config(course) if tasks else None
    interrupted, guard = False, _WholeMerges()
    try:
        for result in chain(refused, executor.run(tasks, inputs, load) if tasks else ()):
            found = scans.get((result.record["student"], result.record["assignment"]))
            if found is not None and found.notes_ja:       # files left out, characters replaced
                notes_ja = list(dict.fromkeys(found.notes_ja))   # read again on a retry
                result.record["problems"] = list(result.record.get("problems") or []) + notes_ja
                result.record["submission_notes"] = list(dict.fromkeys(found.notes_en))
                result.record["submission_notes_ja"] = notes_ja    # on the feedback page too
            record = guard.merge(course, result, config)
            loud = result.worker.get("sandbox")       # a worker elsewhere may lack bwrap
            if loud and f"[{result.worker.get('host')}] {loud}" not in run.warnings \
                    and loud not in run.warnings:
                run.warnings.append(f"[{result.worker.get('host')}] {loud}")
            bar.set_postfix_str(f"{record['student']}/{record['assignment']}", refresh=False)
            bar.update(1)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        guard.hold()                 # a second Ctrl-C does not stop the workers' ending
        bar.close()
        if own:
            executor.close()
        guard.remove()
    if interrupted or guard.pending:
        raise GradingInterrupted(guard.merged, len(tasks))
    for aid in aids:
        for student in course.students([aid]):
            r = load_result(course, aid, student)
            if r is not None and (student, aid) not in run.skipped:
                run.results.append(r)
    run.feedback_rebuilt = refresh_feedback(course, run.skipped)
    run.pending_manual = pending_manual(course, aids)
    run.answers_changed = answers_changed(course, run.pending_manual)
    run.seconds = time.monotonic() - start
    if report:
        extra = list(report_sections(run)) if report_sections else []
        run.report = write_report(course, aids, jobs=jobs,
                                  sections=extra + [protections_section()],
                                  warnings=run.warnings)
    return run
