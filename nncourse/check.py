"""``nncourse check NOTEBOOK``: a student runs the visible tests of their notebook.

Hidden-test regions, if the notebook has any, are removed first: only the visible tests
run.  The notebook file is not modified.

Quiet: while the kernel runs, this process's standard error (file descriptor 2, which a
kernel started from here inherits) goes to a log file (``LOG``), so the student reads only
the Japanese results (no ``[IPKernelApp] WARNING`` lines); the log is named when the check
itself fails.
"""
import contextlib
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader import utils as nbutils

from .core.course import Course, CourseError
from .core.notebook import has_hidden_tests, remove_hidden_tests
from .core.settings import SCHEMA
from .kernel.execute import BudgetedExecute
from .results import cell_message, cell_problems

EXIT_PASS, EXIT_FAIL, EXIT_ERROR = 0, 1, 2
LOG = Path(tempfile.gettempdir()) / "nncourse-check.log"   # kernel and Jupyter warnings go here


@contextlib.contextmanager
def stderr_to_log(log_path=LOG):
    """Send file descriptor 2 (Python's warnings and logging, and any child process's stderr)
    and ``sys.stderr`` to ``log_path`` for the duration; restored afterwards, even on errors."""
    sys.stderr.flush()
    try:
        log = open(log_path, "w", encoding="utf-8", errors="replace", buffering=1)
    except OSError:                       # no writable temp folder: stay as we are
        yield None
        return
    saved = os.dup(2)
    try:
        os.dup2(log.fileno(), 2)
        with contextlib.redirect_stderr(log):     # also a sys.stderr that is not fd 2
            yield log_path
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        log.close()


@dataclass
class CheckResult:
    notebook: Path
    tests: list = field(default_factory=list)          # (grade_id, points, message or None)
    unanswered: list = field(default_factory=list)     # grade_ids of NotImplementedError cells
    problems: list = field(default_factory=list)
    error: str = None

    @property
    def failed(self):
        return [t for t in self.tests if t[2] is not None]

    @property
    def exit_status(self):
        return EXIT_ERROR if self.error else EXIT_FAIL if self.failed else EXIT_PASS

    def format(self):
        if self.error:
            return f"{self.notebook.name} をチェックできませんでした: {self.error}"
        lines = [f"{self.notebook.name} の見えるテストを実行しました:"]
        for gid, points, msg in self.tests:
            lines.append(f"  {'✗' if msg else '✓'} {gid} ({points:g} 点)" + (f": {msg}" if msg else ""))
        lines += [f"  注意: {p}" for p in self.problems]
        if self.unanswered:
            lines.append("  まだ実装されていないセル: " + ", ".join(self.unanswered))
        lines.append(f"見えるテスト {len(self.tests) - len(self.failed)}/{len(self.tests)} 合格。"
                     "非公開テストは採点のときに実行されます (見えるテストに合格しても満点とは限りません)。")
        return "\n".join(lines)


def _limits(notebook, course_dir):
    """(cell, notebook) time limits from the course's settings, if the course is found."""
    candidates = [Path(course_dir)] if course_dir else [notebook.parent, *notebook.parents]
    for d in candidates:
        if (d / "course_config.py").is_file():
            try:
                course = Course.load(d)
                return (course.setting("CELL_TIMEOUT_S"),
                        course.setting("NOTEBOOK_TIMEOUT_S"))
            except (CourseError, Exception):
                break
    return SCHEMA["CELL_TIMEOUT_S"].default, SCHEMA["NOTEBOOK_TIMEOUT_S"].default


def check_notebook(notebook, course_dir=None):
    """Run the visible tests of ``notebook``; a CheckResult says which failed and why."""
    notebook = Path(notebook).resolve()
    result = CheckResult(notebook)
    try:
        nb = nbformat.read(notebook, as_version=4)
    except Exception as exc:
        result.error = f"ノートブックを読み込めません ({type(exc).__name__}: {exc})"
        return result
    for cell in nb.cells:
        if cell.cell_type == "code" and has_hidden_tests(cell.source):
            cell.source = remove_hidden_tests(cell.source)
    cell_timeout, notebook_timeout = _limits(notebook, course_dir)
    ex = BudgetedExecute(timeout=cell_timeout, notebook_timeout=notebook_timeout, judge=False)
    try:
        with stderr_to_log() as log:
            ex.preprocess(nb, {"metadata": {"path": str(notebook.parent)}})
    except Exception as exc:
        result.error = f"カーネルを起動できませんでした ({type(exc).__name__}: {exc})"
        if log:
            result.error += f" 詳しくはログ (log) {log} を見てください。"
        return result
    for cell in nb.cells:
        if cell.cell_type != "code" or not (nbutils.is_grade(cell) or nbutils.is_solution(cell)):
            continue
        meta = cell.metadata.nbgrader
        if nbutils.is_solution(cell):
            if any(o.get("ename") == "NotImplementedError" for o in cell.get("outputs", [])):
                result.unanswered.append(meta["grade_id"])
            continue
        result.tests.append((meta["grade_id"], float(meta.get("points", 0)), cell_message(cell)))
    result.problems = [m for _, m in cell_problems(nb)]
    return result
