"""The nbgrader markers and cell kinds of a notebook: the one scanner every stage uses.

A solution region is the lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION``; a
hidden-test region is the lines between ``### BEGIN HIDDEN TESTS`` (or ``ALWAYS HIDDEN``)
and its END.  A marker is recognised anywhere in a line (as nbgrader does), and the marker
lines themselves belong to neither side.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from nbgrader import utils as nbutils

if TYPE_CHECKING:
    from nbformat import NotebookNode

SOLUTION_BEGIN = ("BEGIN SOLUTION",)
SOLUTION_END = ("END SOLUTION",)
HIDDEN_BEGIN = ("BEGIN HIDDEN TESTS", "BEGIN ALWAYS HIDDEN TESTS")
HIDDEN_END = ("END HIDDEN TESTS", "END ALWAYS HIDDEN TESTS")
MARKERS = SOLUTION_BEGIN + SOLUTION_END + HIDDEN_BEGIN + HIDDEN_END

BEGIN, END, INSIDE, OUTSIDE = "begin", "end", "inside", "outside"


def has_marker(source: str, markers: Iterable[str]) -> bool:
    """Whether any of ``markers`` occurs in ``source``."""
    return any(m in source for m in markers)


def scan(source: str, begin: Iterable[str], end: Iterable[str]) -> Iterator[tuple[str, str]]:
    """``(line, state)`` for every line of ``source``: BEGIN or END for a marker line (of
    ``begin`` / ``end``), INSIDE or OUTSIDE of a region for the others."""
    inside = False
    for line in source.split("\n"):
        if has_marker(line, begin):
            inside = True
            yield line, BEGIN
        elif has_marker(line, end):
            inside = False
            yield line, END
        else:
            yield line, INSIDE if inside else OUTSIDE


def has_hidden_tests(source: str) -> bool:
    return has_marker(source, HIDDEN_BEGIN)


def hidden_region(source: str) -> str:
    """The lines of a cell's hidden-test regions, joined (markers excluded)."""
    return "\n".join(line for line, state in scan(source, HIDDEN_BEGIN, HIDDEN_END)
                     if state == INSIDE)


def remove_hidden_tests(source: str, placeholder: str | None = None) -> str:
    """The source without its hidden-test regions (markers included); with ``placeholder``,
    one line of it (indented as the marker) where each region was."""
    out = []
    for line, state in scan(source, HIDDEN_BEGIN, HIDDEN_END):
        if state == BEGIN and placeholder is not None:
            out.append(line[:len(line) - len(line.lstrip())] + placeholder)
        elif state == OUTSIDE:
            out.append(line)
    return "\n".join(out)


def remove_solutions(source: str) -> str:
    """The source without its solution regions (markers included): what a release keeps."""
    return "\n".join(line for line, state in scan(source, SOLUTION_BEGIN, SOLUTION_END)
                     if state == OUTSIDE)


def without_solution_markers(source: str) -> str:
    """The source without its BEGIN/END SOLUTION lines: a solution as a student submits it."""
    return "\n".join(line for line, state in scan(source, SOLUTION_BEGIN, SOLUTION_END)
                     if state in (INSIDE, OUTSIDE))


def is_autograded_test(cell: NotebookNode) -> bool:
    """An autograded test cell: a code cell with points that is not a solution cell."""
    return cell.cell_type == "code" and nbutils.is_grade(cell) and not nbutils.is_solution(cell)


def is_solution_code(cell: NotebookNode) -> bool:
    return cell.cell_type == "code" and nbutils.is_solution(cell)


def is_check_summary(cell: NotebookNode) -> bool:
    """The notebook's last cell: the student's own table of the visible tests
    (``reference/check_summary.py``), grade id ``<aN>_check_summary``."""
    gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
    return cell.cell_type == "code" and gid.endswith("_check_summary")
