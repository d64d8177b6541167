"""The grading task: one submission's bytes in, its result, graded notebook and feedback out.

A task needs no shared file system and no gradebook.  It grades in a private scratch course
on whichever machine runs it (this process's cache, one per assignment's grading inputs),
in the same sandbox as everywhere else, with a scratch SQLite gradebook made from the
assignment alone.  What it returns is plain data for the coordinator (``merge.py``), the
only writer of the course's gradebook and folders.

- ``GradingInputs``: everything besides the submission that decides its grade (the
  assignment's source, ``autograders/``, ``reference/``, the course settings) as one
  archive, named by its digest; shipped once per worker (``executors.py``);
- ``GradingTask``: the submission's files, its fingerprint and its secret seed (made by the
  coordinator, which holds the course's grading secret);
- ``TaskResult``: the result record, the automatic scores and comments per cell, the
  autograded folder and the feedback folder as ``{relative path: bytes}``.

What a process keeps between tasks (scratch courses, the course on ``sys.path``, the
sandbox's set-up) is a ``WorkerState`` that the process makes and passes to ``run_task``;
tasks of one state run one at a time (its lock): Dask workers should run one thread.
"""
from __future__ import annotations

import atexit
import contextvars
import hashlib
import io
import os
import platform
import shutil
import sys
import tarfile
import tempfile
import threading
import time
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from nbgrader.converters import Autograde

from .. import manual
from ..core.course import Course
from ..feedback.write import generate_feedback
from ..core.gradebook import mark_scratch, session
from ..kernel.nbconfig import ErrorLog, nbgrader_config
# why a submission was not graded: the submission (broken notebook, over time ...) or the
# grading machinery (an exception in the grader, a worker that died, a kernel that could not
# start): the latter is never the student's fault, and fails the run (``GradeRun.grader_failures``)
from ..core.records import FAILED, GRADED, GRADER, SUBMISSION
from ..results import cell_problems, graded_cells
from ..kernel.checks import hidden_calls
from ..kernel.execute import GradingNotes
from ..kernel.sandbox import booted, configure_sandbox, scratch_base, warning
from ..kernel.warm import WarmKernels
from ..core.repair import repair_notes
GRADER_JA = ("採点システムの側で問題が起きたため、この提出を採点できませんでした。"
             "あなたの提出の問題ではありません。先生が直してから採点し直します。")
# nbgrader's lines that say the kernel never ran the student's code (the grader's side)
KERNEL_START = ("Kernel died before replying to kernel_info", "Failed to start the kernel",
                "Kernel didn't respond", "bwrap:")
INPUT_FILES = ("course_config.py", "nbgrader_config.py", "autograders", "reference")
SKIP = ("__pycache__", ".ipynb_checkpoints", "catalogue")     # the catalogues do not grade
TEMPLATE = "template.db"


@dataclass(frozen=True)
class GradingInputs:
    assignment: str
    digest: str
    archive: bytes            # tar.gz of INPUT_FILES + source/<assignment>/


@dataclass
class GradingTask:
    assignment: str
    student: str
    fingerprint: str
    seed: int
    inputs_digest: str
    files: dict[str, bytes] | None  # {path relative to submitted/<student>/<aid>/: bytes} (None:
                              # not read yet; the executor's ``load`` reads it)
    attempt: int = 1


@dataclass
class TaskResult:
    record: dict[str, Any]    # the result record (status, cells, problems, flags, seconds, ...)
    grades: dict[str, dict[str, tuple[float | None, float]]] = field(default_factory=dict)  # {notebook: {grade_id: (auto_score, max_score)}}
    comments: dict[str, dict[str, str | None]] = field(default_factory=dict)  # {notebook: {grade_id: auto_comment}}
    autograded: dict[str, bytes] = field(default_factory=dict)  # {relative path: bytes}
    feedback: dict[str, bytes] = field(default_factory=dict)  # {relative path: bytes}
    feedback_grades: str = ""                       # what the feedback shows (manual.grades_digest)
    worker: dict[str, Any] = field(default_factory=dict)  # host, pid, code version
    stages: dict[str, float] = field(default_factory=dict)  # seconds per stage of this task (the
                              # worker's, then the coordinator's "merge_*"; benchmarks/stages.py)


def not_graded(task: GradingTask, reason_ja: str, reason_en: str = "",
               cause: str = SUBMISSION) -> TaskResult:
    """A ``TaskResult`` for a task that could not be graded (crash, timeout, lost workers, an
    error of the grader: ``cause``)."""
    if cause == GRADER and not reason_ja.startswith(GRADER_JA):
        reason_ja = GRADER_JA + (f"\n{reason_ja}" if reason_ja else "")
    return TaskResult({"student": task.student, "assignment": task.assignment,
                       "fingerprint": task.fingerprint, "status": FAILED, "cause": cause,
                       "error": reason_ja, "error_en": reason_en, "problems": [],
                       "cells": [], "feedback": [], "flags": [], "seconds": 0.0,
                       "attempts": task.attempt})


def exception_line(exc: BaseException) -> str:
    """One English line for an exception of the grader: its type, message and where."""
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(tb[-1].filename).name}:{tb[-1].lineno} in {tb[-1].name})" if tb else ""
    msg = " ".join(str(exc).split())
    return f"grader error: {type(exc).__name__}: {msg[:300]}{where}"


# --- versions (the client and every worker must agree) -----------------------------------
def code_version() -> str:
    """A digest of this nncourse's code and the versions that decide a grade: client and
    workers must agree (checked when connecting to a cluster, and on every result)."""
    import nbgrader
    import numpy
    h = hashlib.sha256(f"{nbgrader.__version__} {numpy.__version__} "
                       f"{sys.version_info[:2]}".encode())
    pkg = Path(__file__).resolve().parent.parent
    for p in sorted(pkg.rglob("*")):
        if p.is_file() and p.suffix in (".py", ".tpl", ".html", ".css", ".j2") \
                and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(pkg)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]


def versions() -> dict[str, str]:
    """What a worker reports about itself (for the version check at connect time)."""
    import nbgrader
    import numpy
    return {"nncourse": code_version(), "nbgrader": nbgrader.__version__,
            "numpy": numpy.__version__, "python": platform.python_version(),
            "host": platform.node()}


# --- the worker's side --------------------------------------------------------------------
@dataclass
class WorkerState:
    """What one grading process keeps between its tasks: made by the process that runs them
    (``worker.serve``, the Dask worker plugin ``dask_worker.GradingPlugin``) and passed to
    ``run_task``.  Tasks of one state run one at a time (``lock``)."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    courses: dict[str, Path] = field(default_factory=dict)   # inputs digest -> scratch course root
    scratch: Path | None = None        # the folder of this process's scratch courses
    current: Path | None = None        # the scratch course on sys.path (``_activate``)
    sandbox_root: Path | None = None   # the scratch course the sandbox was set up for
    version: str = ""                  # code_version(), computed once
    warm: WarmKernels = field(default_factory=WarmKernels)   # the next notebook's kernel
    # where its tasks run, whichever thread runs them (a Dask worker's threads run each task in
    # a fresh copy of their context): the event loop nbclient keeps in a context variable stays
    # the one the warm kernel was started on
    context: contextvars.Context = field(default_factory=contextvars.copy_context)

    def scratch_dir(self) -> Path:
        if self.scratch is None:
            self.scratch = Path(tempfile.mkdtemp(prefix="nncourse-grading-", dir=scratch_base()))
            atexit.register(shutil.rmtree, self.scratch, True)
        return self.scratch

    def code_version(self) -> str:
        if not self.version:
            self.version = code_version()
        return self.version

    def close(self) -> None:
        """The scratch course off ``sys.path``, the scratch courses removed (the process
        lives on: a Dask worker whose plugin is torn down); the kernel left waiting stopped."""
        self.warm.close()
        if self.current is not None:
            sys.path[:] = [p for p in sys.path if p != str(self.current)]
            self.current = None
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None
        self.courses.clear()
        self.sandbox_root = None


class UnsafeArchive(ValueError):
    """A grading-inputs archive with a member that is not a plain file or folder inside it."""


def _safe_extract(archive, dest):
    """Unpack a grading-inputs archive (``make_inputs``) into ``dest``: only regular files
    and folders, each strictly inside ``dest`` (no absolute name, no ``..``, no link, device
    or fifo), files mode 0644, never through an existing link.  Written out member by member
    rather than with ``extractall(filter="data")``: extraction filters exist only from
    Python 3.11.4/3.10.12 on, and distributions ship older patch releases (Debian 12: 3.11.2),
    where ``extractall`` would follow whatever the archive says."""
    dest = Path(dest)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for member in tar:
            parts = Path(member.name).parts
            if member.name.startswith(("/", "\\")) or not parts or \
                    any(p in ("", ".", "..") for p in parts) or not (member.isfile() or member.isdir()):
                raise UnsafeArchive(f"grading inputs: refused archive member {member.name!r} "
                                    f"(type {member.type!r})")
            path = dest.joinpath(*parts)
            if member.isdir():
                path.mkdir(parents=True, exist_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            if any(a.is_symlink() for a in [path, *path.parents] if dest in a.parents):
                raise UnsafeArchive(f"grading inputs: {member.name!r} would pass through a link")
            src = tar.extractfile(member)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(src, out)


def _activate(state: WorkerState, root: Path) -> None:
    """Make ``root``'s autograders/ and reference/ the ones this process imports."""
    if state.current == root:
        return
    for name in list(sys.modules):
        if name.split(".")[0] in ("autograders", "reference") or name.startswith("course_config"):
            del sys.modules[name]
    sys.path[:] = [p for p in sys.path if p != str(state.current)]
    sys.path.insert(0, str(root))
    if hasattr(hidden_calls, "cache_clear"):
        hidden_calls.cache_clear()
    state.current = root


def scratch_course(root: str | os.PathLike[str]) -> Course:
    """The course at ``root`` (a scratch copy of grading inputs) with its own SQLite gradebook."""
    course = Course.load(root)
    course.settings.GRADEBOOK_URL = ""          # the scratch gradebook, whatever the course uses
    mark_scratch(course.gradebook_path)
    return course


def prepare(state: WorkerState, inputs: GradingInputs) -> Path:
    """The scratch course for ``inputs`` (made once per ``state`` and digest)."""
    if inputs.digest in state.courses:
        return state.courses[inputs.digest]
    root = state.scratch_dir() / inputs.digest[:16]
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    _safe_extract(inputs.archive, root)
    os.environ.pop("NNCOURSE_GRADEBOOK_URL", None)
    state.courses[inputs.digest] = root
    return root


def _reset(course, aid, student):
    for name in ("submitted", "autograded", "feedback"):
        shutil.rmtree(course.root / name, ignore_errors=True)
    shutil.copy2(course.root / TEMPLATE, course.gradebook_path)
    return course.submitted_dir(student, aid)


def _files(base):
    return {str(p.relative_to(base)): p.read_bytes() for p in sorted(Path(base).rglob("*"))
            if p.is_file()} if Path(base).is_dir() else {}


def run_task(task: GradingTask, inputs: GradingInputs, state: WorkerState) -> TaskResult:
    """Grade one submission (``GradingTask``) with ``inputs`` (``GradingInputs``, the same
    digest) in the process whose ``state`` it is; returns a ``TaskResult``.  Never raises
    for a bad submission."""
    try:
        with state.lock:
            return state.context.run(_run_task, task, inputs, state)
    except Exception as exc:       # the grader's own failure: never the student's
        traceback.print_exc()      # the worker's log keeps the whole traceback
        return not_graded(task, GRADER_JA, exception_line(exc), cause=GRADER)


def _run_task(task, inputs, state):
    if inputs.digest != task.inputs_digest:
        raise ValueError(f"grading inputs {inputs.digest[:12]} do not match the task's "
                         f"{task.inputs_digest[:12]}")
    t0 = time.monotonic()
    root = prepare(state, inputs)
    _activate(state, root)
    course = scratch_course(root)
    if state.sandbox_root != root or not booted():
        configure_sandbox(course)
        state.sandbox_root = root
    dest = _reset(course, task.assignment, task.student)
    for rel, data in task.files.items():
        path = (dest / rel).resolve()
        if dest.resolve() not in path.parents:
            continue                            # "../" in a name: never outside
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    dest.mkdir(parents=True, exist_ok=True)
    prepared = time.monotonic() - t0
    result = _grade(course, task, state.code_version(), state.warm)
    result.stages["prepare"] = prepared
    result.stages["task"] = time.monotonic() - t0
    return result


def _grade(course, task, version, warm=None):
    aid, student = task.assignment, task.student
    start = time.monotonic()
    record = {"student": student, "assignment": aid, "fingerprint": task.fingerprint,
              "status": GRADED, "cause": None, "error": None, "problems": [], "cells": [],
              "feedback": [], "repairs": []}
    result = TaskResult(record, worker={"host": platform.node(), "pid": os.getpid(),
                                        "nncourse": version, "sandbox": warning()})
    noticed = GradingNotes()                   # filled by the execute preprocessor
    config = nbgrader_config(course, noticed, warm)
    collect = ErrorLog()
    conv = Autograde(coursedir=course.coursedir(config, aid, student), config=config)
    conv.force = True
    conv.log.addHandler(collect)
    _set_seed(task.seed)
    t = time.monotonic()
    try:
        conv.start()
    except Exception as exc:  # nbgrader raises after logging what failed
        record["status"] = FAILED
        record["error"] = reason_in_japanese(failure_reason(collect.lines, exc))
    finally:
        conv.log.removeHandler(collect)
        _set_seed(None)
        result.stages["autograde"] = time.monotonic() - t
    graded_nbs = sorted(course.autograded_dir(student, aid).glob("*.ipynb"))
    if record["status"] == GRADED and not graded_nbs:
        record["status"] = FAILED
        record["error"] = reason_in_japanese(failure_reason(collect.lines, None))
    if record["status"] == FAILED:
        reason = failure_reason(collect.lines, None)
        if any(k in "\n".join(collect.lines) for k in KERNEL_START):   # no student code ran
            record.update(cause=GRADER, error_en=f"grader error: the kernel did not start: {reason}",
                          error=f"{GRADER_JA}\n({reason})")
        else:
            record["cause"] = SUBMISSION
            record["error"] += wrong_files_hint(course, aid, student)
    t = time.monotonic()
    for path in graded_nbs:
        nb = nbformat.read(path, as_version=4)
        record["cells"] += graded_cells(nb)
        record["problems"] += [m for _, m in cell_problems(nb)]
        notes = repair_notes(nb)              # honest mistakes repaired before grading
        record["problems"] += [n["ja"] for n in notes]
        record["repairs"] += [n["en"] for n in notes]
    record["flags"] = summarize_flags(noticed.flags)
    record["visible_only"] = sorted(set(noticed.visible_only))
    record["warm_kernels"] = noticed.warm_kernels     # notebooks in a kernel started ahead
    if record["status"] == GRADED:
        result.grades, result.comments, record["timestamp"] = _scratch_grades(course, aid, student)
        result.autograded = _files(course.autograded_dir(student, aid))
        result.stages["read_results"] = time.monotonic() - t
        t = time.monotonic()
        try:
            generate_feedback(course, aid, student, config)
            result.feedback = _files(course.feedback_dir(student, aid))
            result.feedback_grades = manual.grades_digest(course, aid, student)
        except Exception as exc:
            record["feedback_error"] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        result.stages["feedback"] = time.monotonic() - t
    result.stages.update({f"kernel_{k}": v for k, v in noticed.timings.items()})
    record["seconds"] = round(time.monotonic() - start, 2)
    return result


def _scratch_grades(course, aid, student):
    grades, comments = {}, {}
    with session(course, locked=False) as gb:     # the worker's own scratch gradebook
        sub = gb.find_submission(aid, student)
        stamp = sub.timestamp.isoformat() if sub.timestamp else None
        for nb in sub.notebooks:
            grades[nb.name] = {g.name: (g.auto_score, float(g.max_score)) for g in nb.grades}
            comments[nb.name] = {c.name: c.auto_comment for c in nb.comments}
    return grades, comments, stamp


def _set_seed(seed):
    try:     # imported here: the graded course's own autograders/ (``_activate``), not ours
        from autograders.compare import set_submission_seed
    except ImportError:            # a course without the shared helpers (the toy course)
        return
    set_submission_seed(seed)


def failure_reason(lines: Sequence[str], exc: BaseException | None) -> str:
    """The one line of nbgrader's log that says what went wrong."""
    text = "\n".join(lines)
    for marker in ("NotJSONError", "JSONDecodeError", "ValidationError", "NotebookValidation",
                   "No notebooks", "Error:", "Exception:"):
        for line in reversed(text.splitlines()):
            if marker in line:
                return line.strip()
    return f"{type(exc).__name__}: {exc}" if exc else (lines[-1] if lines else "unknown error")


def reason_in_japanese(reason: str) -> str:
    if "JSON" in reason or "Unreadable" in reason or "NotebookValidation" in reason:
        return f"ノートブックを読み込めませんでした (ファイルが壊れています)。\n{reason}"
    if "No notebooks" in reason:
        return f"提出にノートブックがありませんでした。\n{reason}"
    return f"採点中にエラーが起きました。\n{reason}"


def wrong_files_hint(course: Course, aid: str, student: str) -> str:
    """What was submitted versus the notebook names the assignment expects."""
    expected = [f"{n}.ipynb" for n in course.notebooks(aid)]
    got = sorted(p.name for p in course.submitted_dir(student, aid).iterdir()) \
        if course.submitted_dir(student, aid).is_dir() else []
    if sorted(expected) == got:
        return ""
    return (f"\n提出されたファイル: {', '.join(got) or '(なし)'}。"
            f"ノートブックは {', '.join(expected)} という名前で提出してください。")


def summarize_flags(flags: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The grading flags (``GradingNotes.flags``), one entry per (cell, kind, detail) with a count."""
    counts = {}
    for f in flags:
        key = (f["notebook"], f["cell"], f["kind"], f["detail"])
        counts[key] = counts.get(key, 0) + 1
    return [{"notebook": n, "cell": c, "kind": k, "detail": d, "count": count}
            for (n, c, k, d), count in counts.items()]

