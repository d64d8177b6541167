"""The mutant and variant catalogues (autograders/catalogue/*.toml).

Fast: the catalogues load, every edit applies to the current source notebooks and changes
them, every ``loses`` names an autograded test cell, and malformed entries are refused with
the entry's name.  Slow (``-m slow``): every mutant and variant is graded through nbgrader by
``nncourse.grade.run.grade``; mutants lose points exactly on ``loses`` with their message,
variants get full autograded marks.
"""
import copy
import time
from collections import Counter
from pathlib import Path

import pytest

from autograders.catalogue import CatalogueError, apply, autograded_tests, load, validate
from autograders.catalogue.grading import plan
from nncourse.core.course import Course

ROOT = Path(__file__).resolve().parents[2]
COURSE = Course.load(ROOT)
CATALOGUE = load()
SOURCES = {aid: COURSE.read_source(aid) for aid in COURSE.assignments}


def test_catalogue_sizes_cover_every_assignment():
    assert len(CATALOGUE.mutants) >= 30 and len(CATALOGUE.variants) >= 15
    assert set(Counter(e.assignment for e in CATALOGUE.mutants)) == set(COURSE.assignments)
    assert set(Counter(e.assignment for e in CATALOGUE.variants)) == set(COURSE.assignments)


def test_every_edit_applies_and_every_loses_is_a_test_cell():
    validate(CATALOGUE, SOURCES)


@pytest.mark.parametrize("entry", CATALOGUE.entries, ids=lambda e: e.id)
def test_edit_changes_only_solution_cells(entry):
    nb = copy.deepcopy(SOURCES[entry.assignment])
    apply(nb, entry)
    before = SOURCES[entry.assignment].cells
    changed = [a.metadata.nbgrader["grade_id"] for a, b in zip(nb.cells, before)
               if a.source != b.source]
    assert changed, entry
    assert all(b.metadata.nbgrader.get("solution") for a, b in zip(nb.cells, before)
               if a.source != b.source), changed
    if "cell" in entry.edit:
        assert changed == [entry.edit["cell"]]


def test_mutant_messages_and_loses_are_specific():
    for e in CATALOGUE.mutants:
        assert e.message.strip() and len(set(e.loses)) == len(e.loses), e
        assert set(e.loses) <= set(autograded_tests(SOURCES[e.assignment])), e


def test_plan_gives_each_student_at_most_one_entry_per_assignment():
    p = plan(CATALOGUE, COURSE.assignments)
    assert sorted(p.values(), key=id) == sorted(CATALOGUE.entries, key=id)
    students = Counter(s for s, _ in p)
    assert max(students.values()) <= len(COURSE.assignments)


def _write(tmp_path, mutants="", variants=""):
    files = {"mutant": tmp_path / "m.toml", "variant": tmp_path / "v.toml"}
    files["mutant"].write_text(mutants, encoding="utf-8")
    files["variant"].write_text(variants, encoding="utf-8")
    return files


GOOD = '''
[[mutant]]
id = "sse_no_half"
assignment = "a1_loss"
what = "w"
why = "y"
replace = "0.5 * np.sum("
with = "np.sum("
loses = ["test_sum_squared_error"]
message = "0.09125"
'''


@pytest.mark.parametrize("text, error", [
    (GOOD.replace('why = "y"', 'why = "y"\nhint = "x"'), "unknown key(s) ['hint']"),
    (GOOD.replace('why = "y"\n', ''), "missing field(s) ['why']"),
    (GOOD + GOOD, "duplicate id"),
    (GOOD.replace('replace = "0.5 * np.sum("', 'pattern = "x"\nreplace = "y"'), "exactly one"),
    (GOOD.replace('with = "np.sum("\n', ''), "replace needs with"),
    (GOOD.replace('loses = ["test_sum_squared_error"]', 'loses = []'), "non-empty list"),
    (GOOD.replace("[[mutant]]", "[[mutants]]"), "only [[mutant]] tables"),
])
def test_malformed_entries_are_refused_by_name(tmp_path, text, error):
    with pytest.raises(CatalogueError) as exc:
        load(_write(tmp_path, text))
    assert error in str(exc.value) and "sse_no_half" in str(exc.value) or \
        error == "only [[mutant]] tables" and error in str(exc.value)


@pytest.mark.parametrize("change, error", [
    (("0.5 * np.sum(", "0.25 * np.sum("), "matches nothing"),
    (('replace = "0.5 * np.sum("', 'cell = "nope"\nreplace = "0.5 * np.sum("'),
     "no solution cell 'nope'"),
    (('"test_sum_squared_error"', '"sum_squared_error"'), "not autograded test cells"),
    (('with = "np.sum("', 'with = "0.5 * np.sum("'), "leaves the notebook unchanged"),
    (('"a1_loss"', '"a9_none"'), "unknown assignment"),
])
def test_edits_that_do_not_apply_are_refused_by_name(tmp_path, change, error):
    cat = load(_write(tmp_path, GOOD.replace(*change)))
    with pytest.raises(CatalogueError) as exc:
        validate(cat, SOURCES)
    assert error in str(exc.value) and "sse_no_half" in str(exc.value)


# --- through the real pipeline ------------------------------------------------------------
@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from autograders.catalogue.grading import grade_catalogue
    from nncourse.build import build
    from nncourse.core.course import copy_course
    course = Course.load(copy_course(ROOT, tmp_path_factory.mktemp("catalogue") / "course"))
    build(course)
    start = time.monotonic()
    run, outcomes = grade_catalogue(course, CATALOGUE, jobs=2)
    print(f"\ncatalogue graded in {time.monotonic() - start:.0f} s")
    return course, run, outcomes


@pytest.mark.slow
def test_every_submission_was_graded(graded):
    course, run, outcomes = graded
    assert len(outcomes) == len(CATALOGUE.entries)
    assert not run.not_graded, [(r["student"], r["assignment"], r["error"]) for r in run.not_graded]


@pytest.mark.slow
def test_mutants_lose_points_exactly_where_the_catalogue_says(graded):
    _, _, outcomes = graded
    wrong = {o.entry.id: o.problems for o in outcomes if o.entry.kind == "mutant" and o.problems}
    assert not wrong


@pytest.mark.slow
def test_variants_get_full_autograded_marks(graded):
    _, _, outcomes = graded
    wrong = {o.entry.id: (o.problems, o.messages) for o in outcomes
             if o.entry.kind == "variant" and o.problems}
    assert not wrong
    assert all(o.score == o.auto_max > 0 for o in outcomes if o.entry.kind == "variant")


@pytest.mark.slow
def test_catalogue_report_lists_every_mutant_with_its_cells(graded):
    _, run, outcomes = graded
    text = (run.report.directory / "catalogue.md").read_text(encoding="utf-8")
    for o in outcomes:
        row = next(line for line in text.splitlines() if line.startswith(f"| {o.entry.id} |"))
        for g in o.lost:
            assert g in row


@pytest.mark.slow
def test_hidden_checks_catch_whatever_the_visible_asserts_catch(graded):
    """Each test cell's visible asserts ran in the kernel during grading: for no mutant,
    variant or reference did they fail where the grader's hidden check passed."""
    _, run, _ = graded
    gaps = {(r["student"], r["assignment"]): r["visible_only"] for r in run.results
            if r.get("visible_only")}
    assert all("visible_only" in r for r in run.results if r["status"] == "graded")
    assert not gaps, gaps
