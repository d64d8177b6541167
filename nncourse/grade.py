"""``nncourse grade``: autograde every submission, feedback, CSV and report, in one command.

One worker process per student (``worker.py``) grades that student's assignments; up to
``jobs`` workers run at once.  A worker that crashes or overruns its time only costs that
student's remaining submissions, which are recorded as not graded.
"""
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from tqdm import tqdm

from .build import ensure_built
from .course import tree_digest
from .manual import answers_changed, pending_manual
from .grading.worker import EVENT, FAILED, GRADED, result_path, write_result

VERSION = "1"     # bump when grading changes in a way that must regrade everything
EXIT_OK, EXIT_NOT_GRADED = 0, 1


@dataclass
class GradeRun:
    """What one ``grade`` did: per-submission results and where the outputs are."""
    results: list = field(default_factory=list)      # result records (dicts), graded or not
    skipped: list = field(default_factory=list)      # (student, aid) unchanged since graded
    report: object = None                            # report.Report
    seconds: float = 0.0
    sandboxed: bool = True                           # kernels ran in bwrap (sandbox.py)
    warnings: list = field(default_factory=list)     # loud lines for the summary and report
    pending_manual: dict = field(default_factory=dict)   # (student, aid) -> [grade_id] to grade by hand
    feedback_rebuilt: list = field(default_factory=list)  # (student, aid) skipped, but manual grades changed
    answers_changed: list = field(default_factory=list)   # (student, aid, [grade_id]) pending because
                                                          # the answer changed since graded (any run)

    @property
    def manual_changed(self):
        """(student, aid, [grade_id]) whose manual grade was flagged again: the answer changed."""
        return [(r["student"], r["assignment"], r["manual_changed"]) for r in self.results
                if r.get("manual_changed")]

    @property
    def not_graded(self):
        return [r for r in self.results if r["status"] != GRADED]

    @property
    def exit_status(self):
        return EXIT_NOT_GRADED if self.not_graded else EXIT_OK


def grading_inputs_digest(course, aid):
    """Everything besides the submission that decides its grade."""
    checks = sorted(p for p in (course.root / "autograders").iterdir()
                    if p.name != "catalogue")            # the catalogues do not grade
    return tree_digest([course.source_dir(aid), *checks,
                        course.root / "reference", course.root / "course_config.py"]) + VERSION


def fingerprint(course, aid, student, inputs):
    return tree_digest([course.submitted_dir(student, aid)]) + ":" + inputs


def load_result(course, aid, student):
    try:
        return json.loads(result_path(course, aid, student).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _is_current(course, aid, student, fp):
    old = load_result(course, aid, student)
    return (old is not None and old.get("status") == GRADED and old.get("fingerprint") == fp
            and any(course.autograded_dir(student, aid).glob("*.ipynb"))
            and all((course.root / f).exists() for f in old.get("feedback", [])))


def _worker_timeout(course, n_assignments):
    per = int(course.setting("NOTEBOOK_TIMEOUT_S", 600)) + 120   # + kernel start, feedback
    return per * n_assignments


def _run_worker(course, student, aids, prints, events):
    """Run one student's worker; put each finished assignment on ``events``."""
    log = course.state_dir / "logs" / f"{student}.{aids[0]}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "nncourse.grading.worker", "--course-dir", str(course.root),
           "--student", student]
    for aid in aids:
        cmd += ["--assignment", aid, "--fingerprint", prints[aid]]
    done = set()
    timeout = _worker_timeout(course, len(aids))
    with open(log, "w", encoding="utf-8") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True,
                                cwd=course.root, start_new_session=True)
        timer = threading.Timer(timeout, _kill_group, [proc])
        timer.start()
        try:
            for line in proc.stdout:
                if line.startswith(EVENT):
                    ev = json.loads(line[len(EVENT):])
                    done.add(ev["assignment"])
                    events.put(("done", student, ev["assignment"]))
            proc.wait()
        finally:
            timer.cancel()
            _kill_group(proc)     # a kernel the worker left behind
    for aid in aids:
        if aid not in done:
            why = (f"採点が {timeout} 秒以内に終わらなかったため打ち切りました。"
                   if proc.returncode in (-signal.SIGKILL, -signal.SIGTERM) else
                   f"採点プロセスが異常終了しました (終了コード {proc.returncode})。")
            write_result(course, {
                "student": student, "assignment": aid, "fingerprint": prints[aid],
                "status": FAILED, "error": why + f" ログ: {log.relative_to(course.root)}",
                "problems": [], "cells": [], "feedback": [], "score": 0.0, "max_score": 0.0})
            events.put(("done", student, aid))


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def protections_section():
    """(title, html) for the report: which layers of the grading sandbox were on."""
    from html import escape
    from .grading.sandbox import protections
    rows = "".join(f"<tr><td class='l'>{escape(layer)}</td><td>{'on' if on else '<b>OFF</b>'}"
                   f"</td><td class='l'>{escape(note)}</td></tr>" for layer, on, note in protections())
    return ("採点の隔離 (Sandbox): what protected this run",
            "<table><tr><th class='l'>layer</th><th>state</th><th class='l'>what</th></tr>"
            f"{rows}</table>")


def refresh_feedback(course, submissions):
    """Rebuild the feedback of unchanged submissions whose grades changed in the gradebook
    since (a manual score or comment from formgrader); returns those (student, aid)."""
    from .feedback import rebuild_feedback
    from .lock import GRADEBOOK_LOCK
    from .manual import stale_feedback
    GRADEBOOK_LOCK.configure(course.state_dir / "gradebook.lock")
    records = [r for r in (load_result(course, aid, student) for student, aid in submissions)
               if r is not None]
    done = []
    for r in stale_feedback(course, records):
        if rebuild_feedback(course, r["assignment"], r["student"]) is not None:
            done.append((r["student"], r["assignment"]))
    return done


def grade(course, assignments=None, jobs=1, force=False, progress=True, report=True,
          report_sections=None):
    """Grade all submissions of ``assignments`` (default: all); returns a ``GradeRun``.

    ``report_sections``: optional function GradeRun -> [(title, html fragment)] whose
    sections the HTML report shows (``autograders.catalogue.grading`` uses it)."""
    from .report import write_report
    from .grading.sandbox import available, warning
    start = time.monotonic()
    aids = course.select(assignments)
    ensure_built(course, aids)
    run = GradeRun(sandboxed=available())
    if warning():
        run.warnings.append(warning())
    todo = {}                       # student -> [aid], in lecture order
    prints = {}
    for aid in aids:
        inputs = grading_inputs_digest(course, aid)
        for student in course.students([aid]):
            if not course.submitted_dir(student, aid).is_dir():
                continue
            fp = fingerprint(course, aid, student, inputs)
            prints.setdefault(student, {})[aid] = fp
            if not force and _is_current(course, aid, student, fp):
                run.skipped.append((student, aid))
            else:
                todo.setdefault(student, []).append(aid)
    total = sum(len(v) for v in todo.values())
    events = queue.Queue()
    bar = tqdm(total=total, desc="grading", unit="nb", file=sys.stderr, disable=not progress,
               bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]{postfix}")
    # one worker per student; with fewer students than jobs, a student's assignments are
    # shared out among the free jobs (each worker process costs ~2 s of imports)
    tasks = [(s, todo[s]) for s in sorted(todo)]
    if tasks and len(tasks) < jobs:
        split = max(1, jobs // len(tasks))
        tasks = [(s, aids_[i::split]) for s, aids_ in tasks for i in range(split) if aids_[i::split]]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(_run_worker, course, s, a, prints[s], events) for s, a in tasks]
        finished = 0
        while finished < total:
            try:
                _, student, aid = events.get(timeout=0.5)
            except queue.Empty:
                if all(f.done() for f in futures) and events.empty():
                    break
                continue
            finished += 1
            bar.set_postfix_str(f"{student}/{aid}", refresh=False)
            bar.update(1)
        for f in futures:
            f.result()
    bar.close()
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
