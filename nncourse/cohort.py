"""The demo's sample cohort: who submits what, as plain data the lead can extend.

Each student is ``{"student": id, "kind": "reference" | "release" | "mistakes", ...}``.
A mistake is a small textual edit of the reference submission's *solution* cells:
``{"assignment", "what", "replace", "with"}`` (literal text) or ``{"assignment", "what",
"pattern", "with"}`` (regular expression), or ``{"assignment", "what", "break": "truncate"}``
(a damaged file).  An edit that matches nothing raises ``CohortError``: a "mistake" that
silently leaves the solution correct would make the demo lie.
"""
import re

import nbformat
from nbgrader import utils as nbutils

from .build import release_notebook
from .core.notebook import without_solution_markers

# The real course (course_config.ASSIGNMENTS).  The text follows the lecture's code.
DEFAULT_COHORT = [
    {"student": "s01_reference", "kind": "reference"},
    {"student": "s02_release", "kind": "release"},
    {"student": "s03_sse_no_half", "kind": "mistakes", "mistakes": [
        {"assignment": "a1_loss", "what": "sum_squared_error without the 1/2",
         "pattern": r"0\.5\s*\*\s*np\.sum\(", "with": "np.sum("}]},
    {"student": "s04_forward_diff", "kind": "mistakes", "mistakes": [
        {"assignment": "a2_gradient", "what": "forward difference instead of central",
         "pattern": r"\(\s*f\(\s*x\s*\+\s*h\s*\)\s*-\s*f\(\s*x\s*-\s*h\s*\)\s*\)\s*/\s*\(\s*2\s*\*\s*h\s*\)",
         "with": "(f(x + h) - f(x)) / h"}]},
    {"student": "s05_lr_sign", "kind": "mistakes", "mistakes": [
        {"assignment": "a3_gradient_descent", "what": "gradient ascent (x += lr * grad)",
         "pattern": r"x\s*-=\s*lr\s*\*", "with": "x += lr * "}]},
    {"student": "s06_no_batch_mean", "kind": "mistakes", "mistakes": [
        {"assignment": "a1_loss", "what": "batch cross-entropy not divided by the batch size",
         "pattern": r"\)\s*/\s*n\b", "with": ")"}]},
    {"student": "s07_accuracy_count", "kind": "mistakes", "mistakes": [
        {"assignment": "a4_two_layer_net", "what": "accuracy = number correct, not a fraction",
         "pattern": r"return np\.sum\(y == t\) / float\(x\.shape\[0\]\)",
         "with": "return np.sum(y == t)"}]},
    {"student": "s08_broken", "kind": "mistakes", "mistakes": [
        {"assignment": "a1_loss", "what": "truncated notebook file", "break": "truncate"},
        {"assignment": "a2_gradient", "what": "the kernel exits in a solution cell",
         "pattern": r"(?m)^(def numerical_diff\(f, x\):\n)", "with": "import os; os._exit(1)\n\\1"}]},
    # slow: only with ``nncourse demo --slow`` (its training cell runs into CELL_TIMEOUT_S)
    {"student": "s09_numerical_training", "kind": "mistakes", "slow": True, "mistakes": [
        {"assignment": "a4_two_layer_net", "what": "numerical_gradient in the training loop",
         "pattern": r"grad = network\.gradient\(x_batch, t_batch\)",
         "with": "grad = network.numerical_gradient(x_batch, t_batch)"}]},
]


class CohortError(Exception):
    """A cohort edit that does not apply to the course's notebooks."""


def cohort_of(course):
    """The course's DEMO_COHORT if it defines one, else DEFAULT_COHORT."""
    return course.setting("DEMO_COHORT") or DEFAULT_COHORT


def reference_submission(course, aid):
    """The release notebook with every solution cell answered as in the source."""
    release = nbformat.read(release_notebook(course, aid), as_version=4)
    source = course.read_source(aid, release_notebook(course, aid).stem)
    answers = {c.metadata.nbgrader["grade_id"]: c for c in source.cells if nbutils.is_solution(c)}
    for cell in release.cells:
        if nbutils.is_solution(cell):
            src = answers[cell.metadata.nbgrader["grade_id"]].source
            cell.source = without_solution_markers(src)
    return release


def apply_mistake(nb, mistake):
    """Edit the solution cells of ``nb`` in place; CohortError when nothing matches."""
    count = 0
    for cell in nb.cells:
        if not nbutils.is_solution(cell):
            continue
        if "pattern" in mistake:
            cell.source, n = re.subn(mistake["pattern"], mistake["with"], cell.source)
        else:
            n = cell.source.count(mistake["replace"])
            cell.source = cell.source.replace(mistake["replace"], mistake["with"])
        count += n
    if count == 0:
        key = mistake.get("pattern", mistake.get("replace"))
        raise CohortError(f"cohort mistake {mistake['what']!r} of {mistake['assignment']}: "
                          f"{key!r} matches no solution cell; update nncourse/cohort.py "
                          "(or DEMO_COHORT in course_config.py) to the notebook's code")
    return nb


def create_cohort(course, cohort=None, assignments=None, slow=False):
    """Write submitted/<student>/<aid>/<notebook>.ipynb for every student of the cohort.

    Students marked ``"slow": True`` are left out unless ``slow``.
    Returns ``{student: description}``.  Raises CohortError before writing anything if an
    edit does not apply.
    """
    cohort = cohort or cohort_of(course)
    aids = course.select(assignments)
    files, described = {}, {}
    for entry in cohort:
        if entry.get("slow") and not slow:
            continue
        student, kind = entry["student"], entry["kind"]
        mistakes = [m for m in entry.get("mistakes", []) if m["assignment"] in aids]
        described[student] = {"reference": "reference solutions",
                              "release": "the untouched release"}.get(
            kind, "; ".join(f"{m['assignment']}: {m['what']}" for m in mistakes))
        for aid in aids:
            name = release_notebook(course, aid).name
            if kind == "release":
                files[(student, aid, name)] = release_notebook(course, aid).read_text("utf-8")
                continue
            nb = reference_submission(course, aid)
            text = None
            for m in (m for m in mistakes if m["assignment"] == aid):
                if m.get("break") == "truncate":
                    text = nbformat.writes(nb)
                    text = text[:len(text) // 2]
                else:
                    apply_mistake(nb, m)
            files[(student, aid, name)] = text if text is not None else nbformat.writes(nb)
    for (student, aid, name), text in files.items():
        dest = course.submitted_dir(student, aid)
        dest.mkdir(parents=True, exist_ok=True)
        (dest / name).write_text(text, encoding="utf-8")
    return described
