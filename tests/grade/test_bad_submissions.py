"""Bad submissions (autograders/catalogue/bad_submissions.toml) through the real pipeline.

One cohort: two good students and one student per catalogue entry, graded with
``nncourse.grade.run.grade`` on a copy of the course (small timeouts), then graded again with
``nncourse grade --force`` (the CLI) to check that the results repeat.
"""
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import configured_copy
from nbgrader import utils as nbutils

from nncourse.build import ensure_built, release_notebook
from nncourse.cohort import reference_submission

from nncourse.grade.run import grade
from nncourse.kernel.sandbox import available

try:
    import tomllib
except ImportError:                       # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "autograders" / "catalogue" / "bad_submissions.toml"
AIDS = ["a1_loss", "a2_gradient"]
GOOD = ["good_1", "good_2"]
FULL = {"a1_loss": 7.0, "a2_gradient": 10.0}      # autograded points of the reference
TEST_SETTINGS = """
CELL_TIMEOUT_S = 5                        # (test) infinite loops stop fast
NOTEBOOK_TIMEOUT_S = 90
KERNEL_MEMORY_MIB = 1536                  # (test) the memory bomb stops early
"""
pytestmark = pytest.mark.slow


def catalogue():
    """The catalogue's entries (``NNCOURSE_BAD_ONLY=id,id`` keeps only those, for debugging)."""
    entries = [e for e in tomllib.loads(CATALOGUE.read_text(encoding="utf-8"))["bad"]
               if available() or not e.get("needs_sandbox")]
    only = [i for i in os.environ.get("NNCOURSE_BAD_ONLY", "").split(",") if i]
    return [e for e in entries if e["id"] in only] if only else entries


def make_bad(course, entry, student):
    """Write the bad submission of ``entry`` into submitted/<student>/<aid>/."""
    aid, make = entry["assignment"], entry["make"]
    name = release_notebook(course, aid).name
    dest = course.submitted_dir(student, aid)
    dest.mkdir(parents=True, exist_ok=True)
    nb = reference_submission(course, aid)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    how = make["how"]
    if how == "bytes":
        (dest / name).write_bytes(make["text"].encode("utf-8"))
        return
    if how == "missing":
        (dest / make["to"]).write_text(make["text"], encoding="utf-8")
        return
    if how == "rename":
        name = make["to"]
    elif how == "delete_cell":
        nb.cells.remove(cells[make["grade_id"]])
    elif how == "edit_cell":
        cells[make["grade_id"]].source += make["text"]
    elif how == "cell_type":
        cell = cells[make["grade_id"]]
        new = (nbformat.v4.new_markdown_cell if make["to"] == "markdown"
               else nbformat.v4.new_raw_cell)(cell.source, metadata=cell.metadata)
        nb.cells[nb.cells.index(cell)] = new
    elif how == "metadata":
        cells[make["grade_id"]].metadata.nbgrader.update(make["set"])
    elif how == "inject":
        text = make["text"].format(course=course.root, student=student)
        cell = cells[make["grade_id"]]
        cell.source = text + cell.source if make["at"] == "start" else cell.source + "\n" + text
    else:
        raise ValueError(f"unknown make.how {how!r} in {CATALOGUE.name}")
    nbformat.write(nb, dest / name)


def hashes(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(root).rglob("*")) if p.is_file()}


def student_text(course, result):
    """What the student reads: the error, problems, test messages and the error outputs of
    their graded notebook (all shown in the feedback)."""
    parts = [result.get("error") or ""] + result.get("problems", [])
    parts += [c.get("message") or "" for c in result.get("cells", [])]
    for path in course.autograded_dir(result["student"], result["assignment"]).glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            parts += [f"{o.get('ename')}: {o.get('evalue')}" for o in cell.get("outputs", [])
                      if o.get("output_type") == "error"]
    return "\n".join(parts)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("bad")
    course = configured_copy(ROOT, base / "course", TEST_SETTINGS)
    ensure_built(course, AIDS)
    for student in GOOD:
        for aid in AIDS:
            dest = course.submitted_dir(student, aid)
            dest.mkdir(parents=True)
            nbformat.write(reference_submission(course, aid), dest / release_notebook(course, aid).name)
    entries = catalogue()
    for entry in entries:
        make_bad(course, entry, f"bad_{entry['id']}")
    submitted = hashes(course.root / "submitted")
    course_files = hashes(course.root / "reference") | hashes(course.root / "autograders")
    first = grade(course, AIDS, jobs=2, progress=False)
    proc = subprocess.run([sys.executable, "-m", "nncourse.cli", "--course-dir", str(course.root),
                           "grade", "--force", "--no-progress", "--jobs", "2", *AIDS],
                          capture_output=True, text=True)
    second = {(r["student"], r["assignment"]): r for r in first.results}   # keys only
    from nncourse.core.records import load_result
    second = {k: load_result(course, k[1], k[0]) for k in second}
    return dict(course=course, entries=entries, first=first, cli=proc, second=second,
                submitted=submitted, course_files=course_files)


def by_key(run):
    return {(r["student"], r["assignment"]): r for r in run.results}


def test_good_students_get_full_marks(graded):
    got = by_key(graded["first"])
    for student in GOOD:
        for aid in AIDS:
            assert got[(student, aid)]["status"] == "graded"
            assert got[(student, aid)]["score"] == FULL[aid], (student, aid)


@pytest.mark.parametrize("entry", catalogue(), ids=lambda e: e["id"])
def test_bad_submission_outcome(graded, entry):
    r = by_key(graded["first"])[(f"bad_{entry['id']}", entry["assignment"])]
    assert r["status"] == entry["status"], (r.get("error"), r.get("problems"))
    assert r["score"] == entry["score"], [(c["grade_id"], c["score"], c["message"])
                                          for c in r["cells"]]
    text = student_text(graded["course"], r)
    assert entry["message"] in text, text
    if r["status"] == "failed":
        assert "ノートブック" in r["error"]        # a Japanese sentence, not just a traceback
    assert r["feedback"] and all((graded["course"].root / f).is_file() for f in r["feedback"])


def test_submitted_files_and_course_unchanged(graded):
    course = graded["course"]
    assert hashes(course.root / "submitted") == graded["submitted"]
    assert hashes(course.root / "reference") | hashes(course.root / "autograders") == \
        graded["course_files"]
    assert not (course.root / "pwned.txt").exists()


def test_second_run_gives_identical_results(graded):
    expected = 1 if graded["first"].not_graded else 0                 # 1: some not graded
    assert graded["cli"].returncode == expected, graded["cli"].stderr[-2000:]
    for r in graded["first"].not_graded:
        assert f"NOT GRADED {r['student']}/{r['assignment']}" in graded["cli"].stdout
    for key, r in by_key(graded["first"]).items():
        again = graded["second"][key]
        assert (again["status"], again["score"]) == (r["status"], r["score"]), key
        assert [(c["grade_id"], c["score"]) for c in again["cells"]] == \
            [(c["grade_id"], c["score"]) for c in r["cells"]], key


def test_gradebook_is_consistent(graded):
    from nbgrader.api import Gradebook
    course = graded["course"]
    results = by_key(graded["first"])
    with Gradebook(course.db_url, course.course_id) as gb:
        for aid in AIDS:
            source = course.read_source(aid)
            grade_ids = {c.metadata.nbgrader["grade_id"] for c in source.cells
                         if nbutils.is_grade(c) or nbutils.is_task(c)}
            points = sum(float(c.metadata.nbgrader.get("points", 0)) for c in source.cells
                         if nbutils.is_grade(c) or nbutils.is_task(c))
            for sub in gb.find_assignment(aid).submissions:
                key = (sub.student.id, aid)
                assert key in results, key                   # no orphan submissions
                [nb] = sub.notebooks
                assert {g.name for g in nb.grades} == grade_ids, key
                assert float(sub.max_score) == points, key   # edited metadata did not count
                assert float(sub.score) == results[key]["score"], key
    proc = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "export"],
                          cwd=course.root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "good_1" in (course.root / "grades.csv").read_text(encoding="utf-8")


def test_sandbox_in_use_or_warned(graded):
    if available():
        assert "NO SANDBOX" not in graded["cli"].stdout
    else:
        assert "NO SANDBOX" in graded["cli"].stdout
