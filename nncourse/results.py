"""What a graded notebook says: each test's result and message, read from its cells."""
import re

from nbgrader import utils as nbutils

from .kernel.execute import NOT_RUN, PROBLEM_ENAMES
from .core.notebook import (has_hidden_tests, is_autograded_test, is_solution_code,
                            remove_hidden_tests)
from .core.safetext import shorten

MAX_MESSAGE = 400      # characters of a message kept in results and the report

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def strip_ansi(text):
    return _ANSI.sub("", text)



def _squash(line):
    return re.sub(r"\s+", "", line)


def _short(text):
    """At most MAX_MESSAGE characters; a hint line ("ヒント: …") at the end is kept."""
    return shorten(strip_ansi(text).strip(), MAX_MESSAGE)


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


def _unanswered(cell):
    """True when a solution cell is as released (nbgrader's checksum) or holds nothing but
    comments, ``pass`` and the stub's ``raise NotImplementedError``."""
    meta = cell.metadata.get("nbgrader", {})
    try:
        if meta.get("checksum") and meta["checksum"] == nbutils.compute_checksum(cell):
            return True
    except (KeyError, TypeError, ValueError):
        pass
    text = cell.source
    if cell.cell_type == "markdown":
        return not text.strip() or TEXT_STUB_MARK in text and len(text.strip()) <= 60
    lines = [ln.strip() for ln in text.split("\n")]
    code = [ln for ln in lines if ln and not ln.startswith("#")
            and ln != "pass" and not ln.startswith("raise NotImplementedError")]
    return not code


def graded_cells(nb):
    """One dict per grade/task cell: grade_id, kind, points, the message (if it failed), its
    hint ("ヒント: …" line, if any) and ``unanswered`` (a written answer left as released or
    empty; for a test cell: the solution cell before it was)."""
    cells = []
    last_solution_unanswered = False
    for cell in nb.cells:
        if is_solution_code(cell):
            last_solution_unanswered = _unanswered(cell)
        if not (nbutils.is_grade(cell) or nbutils.is_task(cell)):
            continue
        meta = cell.metadata.nbgrader
        auto = is_autograded_test(cell)
        message = cell_message(cell) if auto else None
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"] \
            if auto and message else []
        hint = hint_of(errors[0].get("evalue", "")) if errors else None   # before shortening
        cells.append({
            "grade_id": meta["grade_id"],
            "kind": "auto" if auto else "manual",
            "points": float(meta.get("points", 0)),
            "hidden": auto and has_hidden_tests(cell.source),
            "message": message,
            "hint": hint or hint_of(message),
            "unanswered": (last_solution_unanswered if auto else
                           nbutils.is_solution(cell) and _unanswered(cell)),
        })
    return cells


# --- what a failed test means (the report) ----------------------------------------------------
TEXT_STUB_MARK = "YOUR ANSWER HERE"        # in course_config's ClearSolutions.text_stub
HINT_PREFIX = "ヒント:"
NOT_ATTEMPTED_MARKS = ("NotImplementedError", "まだ実装されていません", "まだ実装していません")
PASSED, MISTAKE, NOT_ATTEMPTED, NOT_RUN_OUTCOME, FLAGGED = (
    "passed", "mistake", "not_attempted", "not_run", "flagged")


def hint_of(message):
    """The hint of a check's message (the text after its last "ヒント:"), or None."""
    if not message:
        return None
    for line in reversed(strip_ansi(message).splitlines()):
        if line.strip().startswith(HINT_PREFIX):
            return line.strip()[len(HINT_PREFIX):].strip().rstrip("…").strip() or None
    return None


def outcome(cell, flagged_cells=()):
    """What an autograded cell's result means for the teacher:

    ``passed``; ``not_attempted`` (the stub's NotImplementedError, or the solution cell above
    left empty); ``not_run`` (an earlier cell used up the time or the kernel died, so this one
    never ran); ``flagged`` (the grader's call into the kernel failed, report's 要確認);
    ``mistake`` (everything else: a wrong answer, an error, a time-out in this cell)."""
    if float(cell.get("score", 0)) >= float(cell.get("max_score", cell.get("points", 0))):
        return PASSED
    message = cell.get("message") or ""
    if cell.get("grade_id") in flagged_cells:
        return FLAGGED
    if message.startswith(NOT_RUN + ":") or message.startswith(NOT_RUN):
        return NOT_RUN_OUTCOME
    if any(m in message for m in NOT_ATTEMPTED_MARKS) or cell.get("unanswered"):
        return NOT_ATTEMPTED
    return MISTAKE


def mistake_key(cell):
    """What groups one mistake with the same mistake of other students: the check's hint,
    else the message's first line (the check and what went wrong)."""
    hint = cell.get("hint") or hint_of(cell.get("message"))
    if hint:
        return hint
    first = (cell.get("message") or "(メッセージなし)").strip().splitlines()[0]
    return first.split(": ", 1)[1] if first.startswith(("CheckFailed: ", "AssertionError: ")) \
        else first
