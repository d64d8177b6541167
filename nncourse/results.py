"""What a graded notebook says: each test's result and message, read from its cells."""
import re

from nbgrader import utils as nbutils

from .grading.checks import HIDDEN_BEGIN, HIDDEN_END, has_hidden_tests, remove_hidden_tests  # noqa: F401
from .grading.execute import NOT_RUN, PROBLEM_ENAMES

MAX_MESSAGE = 400      # characters of a message kept in results and the report

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def strip_ansi(text):
    return _ANSI.sub("", text)



def _squash(line):
    return re.sub(r"\s+", "", line)


def _short(text):
    """At most MAX_MESSAGE characters; a hint line ("ヒント: …") at the end is kept."""
    text = strip_ansi(text).strip()
    if len(text) <= MAX_MESSAGE:
        return text
    last = text.rsplit("\n", 1)[-1]
    if "\n" in text and last.lstrip().startswith("ヒント:") and len(last) < MAX_MESSAGE // 2:
        return text[:MAX_MESSAGE - len(last) - 3] + "…\n" + last
    return text[:MAX_MESSAGE - 1] + "…"


def _failed_line(traceback):
    """The ``---->`` line of an IPython traceback (the statement that failed), if any."""
    for entry in traceback:
        for line in strip_ansi(entry).splitlines():
            if line.lstrip().startswith("---->"):
                return line.split("---->", 1)[1].strip().lstrip("0123456789").strip()
    return ""


def cell_message(cell):
    """Why a code cell failed, in one message (None when it did not fail)."""
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if errors:
        err = next((o for o in errors if o.get("ename") in PROBLEM_ENAMES + (NOT_RUN,)),
                   errors[0])
        msg = f"{err.get('ename', 'Error')}: {err.get('evalue', '')}".rstrip(": ")
        if err.get("ename") == "NotImplementedError" and not err.get("evalue"):
            return "NotImplementedError: まだ実装されていません (テストが使う関数のセル)"
        if not err.get("evalue"):
            line = _failed_line(err.get("traceback", []))
            visible = {_squash(v) for v in remove_hidden_tests(cell.source).split("\n")}
            if line and _squash(line) in visible:       # never quote a hidden test's line
                msg = f"{msg}: {line}"
        return _short(msg)
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream" and o.get("name") == "stderr":
            return _short("標準エラー出力 (stderr) に出力がありました: " + o.get("text", ""))
    return None


def cell_problems(nb):
    """Timeouts and kernel deaths of a notebook: (cell index, message) pairs."""
    found = []
    for i, cell in enumerate(nb.cells):
        for o in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if o.get("output_type") == "error" and o.get("ename") in PROBLEM_ENAMES:
                found.append((i, _short(o.get("evalue", ""))))
    return found


def graded_cells(nb):
    """One dict per grade/task cell: grade_id, kind, points, the message (if it failed)."""
    cells = []
    for cell in nb.cells:
        if not (nbutils.is_grade(cell) or nbutils.is_task(cell)):
            continue
        meta = cell.metadata.nbgrader
        auto = cell.cell_type == "code" and nbutils.is_grade(cell) and not nbutils.is_solution(cell)
        cells.append({
            "grade_id": meta["grade_id"],
            "kind": "auto" if auto else "manual",
            "points": float(meta.get("points", 0)),
            "hidden": auto and has_hidden_tests(cell.source),
            "message": cell_message(cell) if auto else None,
        })
    return cells
