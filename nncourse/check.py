"""``nncourse check NOTEBOOK``: a student runs the visible tests of their notebook.

Hidden-test regions, if the notebook has any, are removed first: only the visible tests
run.  The notebook file is not modified.
"""
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader import utils as nbutils

from .course import Course, CourseError
from .results import cell_message, cell_problems, has_hidden_tests, remove_hidden_tests

EXIT_PASS, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


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
                return (course.setting("CELL_TIMEOUT_S", 120),
                        course.setting("NOTEBOOK_TIMEOUT_S", 600))
            except (CourseError, Exception):
                break
    return 120, 600


def check_notebook(notebook, course_dir=None):
    """Run the visible tests of ``notebook``; a CheckResult says which failed and why."""
    from .grading.execute import BudgetedExecute
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
        ex.preprocess(nb, {"metadata": {"path": str(notebook.parent)}})
    except Exception as exc:
        result.error = f"カーネルを起動できませんでした ({type(exc).__name__}: {exc})"
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
