"""``nncourse build``: generate the releases and refuse any that would leak answers.

A release leaks when it carries solution or hidden-test markers, a line that only the
source's solutions or hidden tests contain, references to ``autograders``/``reference``,
stored outputs, a jupytext twin (``*.pct.py``) or a copy of a reference/autograders module
that the source does not deliberately ship (as a symlink, like a4's ``mnist.py`` and every
assignment's ``check_summary.py``).
"""
import re
import shutil
from pathlib import Path

import nbformat
from nbgrader import utils as nbutils

from .core.course import tree_digest
from .core.lock import GRADEBOOK_LOCK
from .kernel.nbconfig import ErrorLog, nbgrader_config
from .kernel.checks import source_problems
from .core.notebook import (HIDDEN_BEGIN, HIDDEN_END, INSIDE, MARKERS, OUTSIDE, SOLUTION_BEGIN,
                            SOLUTION_END, has_marker, scan)

PRIVATE_NAMES = re.compile(r"\bautograders\b|^\s*(from|import)\s+reference\b", re.M)
MIN_LINE = 8          # shorter lines ("return x", "pass") are too common to call a leak


class BuildError(Exception):
    """A release would leak; ``problems`` says what and where."""

    def __init__(self, problems):
        self.problems = problems
        super().__init__("\n  " + "\n  ".join(problems))


def _norm(line):
    return re.sub(r"\s+", "", line)


def _private_lines(nb):
    """Lines only in solution regions/cells and hidden tests; and all the other lines."""
    private, public = set(), set()
    for cell in nb.cells:
        solution = nbutils.is_solution(cell)
        begin, end = SOLUTION_BEGIN + HIDDEN_BEGIN, SOLUTION_END + HIDDEN_END
        everything = solution and not has_marker(cell.source, begin)   # a solution cell without
        for line, state in scan(cell.source, begin, end):              # markers: all of it
            if state in (INSIDE, OUTSIDE) and len(_norm(line)) >= MIN_LINE \
                    and not line.lstrip().startswith("#"):
                (private if everything or state == INSIDE else public).add(_norm(line))
    return private - public


def _module_files(course):
    mods = {}
    for folder in ("reference", "autograders"):
        for p in (course.root / folder).glob("*.py"):
            mods[p.read_bytes()] = f"{folder}/{p.name}"
    return mods


def leak_check(course, aid):
    """Problems (strings) of release/<aid> against source/<aid>; empty when clean."""
    problems = []
    release, source = course.release_dir(aid), course.source_dir(aid)
    modules = _module_files(course)
    for path in sorted(p for p in release.rglob("*") if p.is_file()):
        rel = path.relative_to(course.root)
        if path.name.endswith(".pct.py"):
            problems.append(f"{rel}: jupytext twin (holds the solutions)")
            continue
        if path.suffix != ".ipynb":
            src = source / path.relative_to(release)
            shipped = src.is_symlink()
            if path.read_bytes() in modules and not shipped:
                problems.append(f"{rel}: copy of {modules[path.read_bytes()]}")
            text = path.read_text(errors="replace")
            problems += [f"{rel}: contains '{m}'" for m in MARKERS if m in text]
            continue
        nb = nbformat.read(path, as_version=4)
        src_nb = nbformat.read(source / path.name, as_version=4)
        private = _private_lines(src_nb)
        for i, cell in enumerate(nb.cells):
            where = f"{rel} cell {i}"
            problems += [f"{where}: contains '{m}'" for m in MARKERS if m in cell.source]
            if cell.cell_type == "code" and PRIVATE_NAMES.search(cell.source):
                problems.append(f"{where}: refers to autograders/reference")
            if cell.cell_type == "code" and cell.get("outputs"):
                problems.append(f"{where}: has stored outputs")
            for line in cell.source.split("\n"):
                if _norm(line) in private:
                    problems.append(f"{where}: solution/hidden-test line {line.strip()!r}")
    return problems


def _build_stamp(course, aid):
    return course.state_dir / "build" / f"{aid}.digest"


def build(course, assignments=None):
    """Generate release/<aid> of the assignments; raise BuildError (nothing left) on leaks."""
    from nbgrader.converters import GenerateAssignment
    aids = course.select(assignments)
    GRADEBOOK_LOCK.configure(course.state_dir / "gradebook.lock")
    config = nbgrader_config(course)
    problems, built = [], {}
    for aid in aids:
        if not any(course.source_dir(aid).glob("*.ipynb")):
            problems.append(f"source/{aid}: no notebook")
            continue
        found = [p for nb in sorted(course.source_dir(aid).glob("*.ipynb"))
                 for p in source_problems(nb, course.root / "autograders")]
        if found:
            problems += found
            continue
        conv = GenerateAssignment(coursedir=course.coursedir(config, aid, "."), config=config)
        conv.force = True
        errors = ErrorLog()
        conv.log.addHandler(errors)
        try:
            with GRADEBOOK_LOCK:
                conv.start()
        except Exception as exc:
            problems.append(f"source/{aid}: nbgrader generate_assignment failed: "
                            f"{errors.reason() or exc}")
            shutil.rmtree(course.release_dir(aid), ignore_errors=True)
            continue
        finally:
            conv.log.removeHandler(errors)
        found = leak_check(course, aid)
        if found:
            shutil.rmtree(course.release_dir(aid), ignore_errors=True)
            problems += found
            continue
        stamp = _build_stamp(course, aid)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(tree_digest([course.source_dir(aid)]))
        built[aid] = course.release_dir(aid)
    if problems:
        raise BuildError(problems)
    return built


def ensure_built(course, aids):
    """Build the assignments whose source changed since their last build (or never built)."""
    stale = [aid for aid in aids
             if not course.release_dir(aid).is_dir() or not _build_stamp(course, aid).is_file()
             or _build_stamp(course, aid).read_text() != tree_digest([course.source_dir(aid)])]
    if stale:
        build(course, stale)
    return stale


def release_notebook(course, aid):
    """Path of the (one) release notebook of an assignment."""
    return Path(sorted(course.release_dir(aid).glob("*.ipynb"))[0])
