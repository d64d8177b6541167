"""The mutant and variant catalogues: load, validate and apply them to notebooks.

``mutants.toml`` lists realistic wrong answers, ``variants.toml`` correct answers in other
styles; both are edits of a notebook's solution cells (see the comments at the top of the
files).  ``load()`` reads and checks both; ``apply(nb, entry)`` edits a notebook in place
with the same semantics as ``nncourse.cohort.apply_mistake`` (which it uses), plus
``cell``: limit an edit to one solution cell, or replace that cell by ``code``.
"""
import copy
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader import utils as nbutils

from nncourse.cohort import CohortError, apply_mistake
from nncourse.core.notebook import is_autograded_test, without_solution_markers

try:
    import tomllib
except ModuleNotFoundError:             # Python 3.10
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
FILES = {"mutant": HERE / "mutants.toml", "variant": HERE / "variants.toml"}

REQUIRED = {"id", "assignment", "what", "why"}
EDIT_KEYS = {"cell", "code", "pattern", "replace", "with"}
ONLY = {"mutant": {"loses", "message"}, "variant": set()}


class CatalogueError(Exception):
    """A catalogue entry that is malformed or does not apply; the message names it."""


@dataclass
class Entry:
    """One mutant or variant: a named edit of one assignment's solution cells."""
    kind: str                    # "mutant" | "variant"
    id: str
    assignment: str
    what: str
    why: str
    edit: dict                   # the keys of EDIT_KEYS that are given
    loses: list = field(default_factory=list)
    message: str = ""

    def __repr__(self):
        return f"<{self.kind} {self.id} ({self.assignment}): {self.what}>"


@dataclass
class Catalogue:
    mutants: list
    variants: list

    @property
    def entries(self):
        return self.mutants + self.variants

    def by_assignment(self, aid):
        return [e for e in self.entries if e.assignment == aid]


def _entry(kind, raw, where):
    name = f"{kind} {raw.get('id', '?')!r} ({where})"
    required = REQUIRED | ONLY[kind]
    unknown = set(raw) - required - EDIT_KEYS
    if unknown:
        raise CatalogueError(f"{name}: unknown key(s) {sorted(unknown)}")
    missing = required - set(raw)
    if missing:
        raise CatalogueError(f"{name}: missing field(s) {sorted(missing)}")
    edit = {k: raw[k] for k in EDIT_KEYS if k in raw}
    forms = [("code" in edit), ("pattern" in edit), ("replace" in edit)]
    if sum(forms) != 1:
        raise CatalogueError(f"{name}: give exactly one of code, pattern or replace")
    if "code" in edit and ("cell" not in edit or "with" in edit):
        raise CatalogueError(f"{name}: code needs cell (and no with)")
    if "code" not in edit and "with" not in edit:
        raise CatalogueError(f"{name}: {'pattern' if 'pattern' in edit else 'replace'} needs with")
    for k in ("id", "assignment", "what", "why", "message", *edit):
        if k in raw and not isinstance(raw[k], str):
            raise CatalogueError(f"{name}: {k} must be a string")
    if kind == "mutant" and (not isinstance(raw["loses"], list) or not raw["loses"]
                             or not all(isinstance(g, str) for g in raw["loses"])):
        raise CatalogueError(f"{name}: loses must be a non-empty list of test grade_ids")
    return Entry(kind, raw["id"], raw["assignment"], raw["what"], raw["why"], edit,
                 list(raw.get("loses", [])), raw.get("message", ""))


def load(files=None):
    """Read and check both catalogues (the structure only; ``validate`` checks the edits)."""
    files = files or FILES
    found = {"mutant": [], "variant": []}
    seen = {}
    for kind, path in files.items():
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise CatalogueError(f"{path}: not valid TOML: {exc}") from None
        if set(data) - {kind}:
            raise CatalogueError(f"{path}: only [[{kind}]] tables, found {sorted(set(data) - {kind})}")
        for raw in data.get(kind, []):
            e = _entry(kind, raw, Path(path).name)
            if e.id in seen:
                raise CatalogueError(f"{kind} {e.id!r}: duplicate id (also a {seen[e.id]})")
            seen[e.id] = kind
            found[kind].append(e)
    return Catalogue(found["mutant"], found["variant"])


def solution_cells(nb):
    return {c.metadata.nbgrader["grade_id"]: c for c in nb.cells if nbutils.is_solution(c)}


def autograded_tests(nb):
    """grade_ids of the autograded test cells of a notebook, in order."""
    return [c.metadata.nbgrader["grade_id"] for c in nb.cells
            if is_autograded_test(c)]


def apply(nb, entry):
    """Apply ``entry``'s edit to the solution cells of ``nb`` in place; returns ``nb``."""
    edit = entry.edit
    cells = solution_cells(nb)
    if "cell" in edit and edit["cell"] not in cells:
        raise CatalogueError(f"{entry!r}: no solution cell {edit['cell']!r} "
                             f"(solution cells: {', '.join(cells)})")
    if "code" in edit:
        cells[edit["cell"]].source = edit["code"].strip("\n")
        return nb
    target = nbformat.v4.new_notebook(cells=[cells[edit["cell"]]]) if "cell" in edit else nb
    before = [c.source for c in target.cells]
    mistake = {"assignment": entry.assignment, "what": entry.what,
               **{k: edit[k] for k in ("pattern", "replace", "with") if k in edit}}
    try:
        apply_mistake(target, mistake)
    except CohortError:
        key = edit.get("pattern", edit.get("replace"))
        where = f"solution cell {edit['cell']!r}" if "cell" in edit else "any solution cell"
        raise CatalogueError(f"{entry!r}: {key!r} matches nothing in {where} of "
                             f"{entry.assignment}; update the catalogue to the notebook") from None
    if [c.source for c in target.cells] == before:
        raise CatalogueError(f"{entry!r}: the edit leaves the notebook unchanged")
    return nb


def as_submitted(nb):
    """A copy of a source notebook whose solution cells read as a student submits them:
    without the BEGIN/END SOLUTION lines (as ``nncourse.cohort.reference_submission``)."""
    nb = copy.deepcopy(nb)
    for cell in solution_cells(nb).values():
        cell.source = without_solution_markers(cell.source)
    return nb


def validate(catalogue, notebooks):
    """Check every entry against ``notebooks`` ({aid: source notebook with solutions}).

    Each edit is tried on the source and on its submitted form (``as_submitted``).
    Raises CatalogueError naming the entry: unknown assignment, an edit that matches
    nothing or changes nothing, a ``loses`` grade_id that is not an autograded test cell.
    """
    for e in catalogue.entries:
        if e.assignment not in notebooks:
            raise CatalogueError(f"{e!r}: unknown assignment (known: {', '.join(notebooks)})")
        nb = notebooks[e.assignment]
        apply(copy.deepcopy(nb), e)               # on copies
        apply(as_submitted(nb), e)
        tests = autograded_tests(nb)
        bad = [g for g in e.loses if g not in tests]
        if bad:
            raise CatalogueError(f"{e!r}: loses {bad} are not autograded test cells of "
                                 f"{e.assignment} ({', '.join(tests)})")
