"""Which hidden check decides each test cell, and running it in the grader.

The hidden-test region of a test cell in the *source* notebook (trusted: the instructor's
``source/<assignment>/``, never the submission) names its check::

    ### BEGIN HIDDEN TESTS
    from autograders import a1_loss
    a1_loss.check_sum_squared_error(sum_squared_error)
    ### END HIDDEN TESTS

It is parsed (``ast``), not executed: one ``from autograders import <module>`` (or
``import autograders``) and one call ``<module>.<check>(<name or constant>, ...)``.  The grader runs that check here with a
``student.Remote`` for each name; the kernel only ever runs the visible part of the cell.
"""
import ast
import functools
import importlib
import logging
from dataclasses import dataclass

import nbformat

from ..core.notebook import hidden_region, is_autograded_test
from .student import KernelProblem, StudentError

log = logging.getLogger(__name__)


CHECK_FAILED = "CheckFailed"           # ename of a failed check in the graded notebook
GRADER_ERROR = "GraderError"           # the check itself crashed (a bug of ours, not the student's)
GRADER_ERROR_MESSAGE = ("採点プログラムの内部エラーでこのテストを採点できませんでした。"
                        "教員に連絡してください。")
NO_CHECK_MESSAGE = ("このテストセルには隠しテスト (採点用のチェック) がありません。"
                    "教員に連絡してください。")


class HiddenTestError(ValueError):
    """A hidden-test region that is not one ``from autograders import m`` + ``m.check(...)``."""


@dataclass(frozen=True)
class HiddenCall:
    """``autograders.<module>.<function>(*args)``; an arg is ("name", n) or ("value", v)."""
    module: str
    function: str
    args: tuple

    @property
    def module_name(self):
        return "autograders" + (f".{self.module}" if self.module else "")

    def __str__(self):
        args = ", ".join(v if k == "name" else repr(v) for k, v in self.args)
        return f"{self.module_name}.{self.function}({args})"


def parse_hidden(source, where=""):
    """The ``HiddenCall`` of a test cell's source, or None if it has no hidden region."""
    code = hidden_region(source)
    if not code.strip():
        return None
    try:
        tree = ast.parse(code.strip("\n"))
    except SyntaxError as exc:
        raise HiddenTestError(f"{where}: hidden tests do not parse: {exc}") from None
    modules, calls = {}, []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "autograders" and node.level == 0:
            for alias in node.names:
                modules[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.Import) and [a.name for a in node.names] == ["autograders"]:
            modules[node.names[0].asname or "autograders"] = ""      # the package itself
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and \
                isinstance(node.value.func, ast.Attribute) and \
                isinstance(node.value.func.value, ast.Name) and not node.value.keywords:
            calls.append(node.value)
        else:
            raise HiddenTestError(f"{where}: line {node.lineno} of the hidden tests is neither "
                                  "`from autograders import <module>` nor `<module>.<check>(...)`")
    if len(calls) != 1 or calls[0].func.value.id not in modules:
        raise HiddenTestError(f"{where}: hidden tests must make exactly one call of a check "
                              "imported from autograders")
    call = calls[0]
    args = []
    for a in call.args:
        if isinstance(a, ast.Name):
            args.append(("name", a.id))
        elif isinstance(a, ast.Constant):
            args.append(("value", a.value))
        else:
            raise HiddenTestError(f"{where}: arguments of {call.func.attr} must be names or "
                                  "constants")
    return HiddenCall(modules[call.func.value.id], call.func.attr, tuple(args))


@functools.lru_cache(maxsize=64)
def _calls_of(path, mtime):
    nb = nbformat.read(path, as_version=4)
    calls = {}
    for cell in nb.cells:
        if is_autograded_test(cell):
            gid = cell.metadata.nbgrader["grade_id"]
            calls[gid] = parse_hidden(cell.source, f"{path}: {gid}")
    return calls


def hidden_calls(source_notebook):
    """{grade_id: HiddenCall or None} of the test cells of a (trusted) source notebook."""
    from pathlib import Path
    path = Path(source_notebook)
    return _calls_of(str(path), path.stat().st_mtime_ns)


def _defined_checks(module_file):
    """Names of the top-level functions of a checks module (read, not imported)."""
    try:
        tree = ast.parse(module_file.read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return set()
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


def source_problems(source_notebook, autograders_dir):
    """Why a source notebook's test cells cannot be graded (strings; empty when fine): a test
    cell without a hidden check, one that does not parse, or a check that ``autograders_dir``
    (the course's own, read without importing it) does not define."""
    from pathlib import Path
    autograders_dir = Path(autograders_dir)
    try:
        calls = hidden_calls(source_notebook)
    except HiddenTestError as exc:
        return [str(exc)]
    problems = []
    for gid, call in calls.items():
        if call is None:
            problems.append(f"{source_notebook}: test cell {gid} has no hidden check: "
                            "the grader decides every point, so add one")
            continue
        module = autograders_dir / (f"{call.module}.py" if call.module else "__init__.py")
        if call.function not in _defined_checks(module):
            problems.append(f"{source_notebook}: test cell {gid}: {call} is not defined in "
                            f"{module}")
    return problems


_RAISED = "実行中にエラー (例外) が発生しました: {etype}: {evalue}"   # as autograders.messages.RAISED


@dataclass
class Verdict:
    """What the grader decided for one test cell."""
    passed: bool
    ename: str = ""
    message: str = ""
    flag: str = ""              # kind of a kernel problem worth the instructor's look


def run_check(call, student):
    """Run ``call`` against the student's kernel; a ``Verdict`` (never raises)."""
    try:
        func = getattr(importlib.import_module(call.module_name), call.function)
        func(*[student[v] if kind == "name" else v for kind, v in call.args])
        return Verdict(True)
    except AssertionError as exc:               # CheckFailed, or a plain assert of a check
        return Verdict(False, CHECK_FAILED, str(exc))
    except KernelProblem as exc:
        return Verdict(False, CHECK_FAILED, f"[採点] {exc.message}", flag=exc.kind)
    except StudentError as exc:                 # raised where the check did not expect it
        return Verdict(False, CHECK_FAILED, "[採点] " + _RAISED.format(
            etype=exc.etype, evalue=exc.message))
    except Exception:                           # a bug in a check: say so, never crash grading
        log.exception("hidden check %s crashed", call)
        return Verdict(False, GRADER_ERROR, GRADER_ERROR_MESSAGE, flag="grader_error")
