"""nncourse on the toy course (tests/fixtures/toy_course): the real nbgrader pipeline, fast.

One module-scoped demo (5 students x 2 assignments, graded with --jobs 2) is shared by the
tests that read grades, feedback and the report.
"""
import csv
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from conftest import configured_copy

from nncourse.build import BuildError, build
from nncourse.check import check_notebook
from nncourse.cohort import CohortError, apply_mistake, create_cohort, reference_submission
from nncourse.api import collect
from nncourse.core.course import Course
from nncourse.demo import demo
from nncourse.grade.run import grade
from nncourse.validate import validate

TOY = Path(__file__).resolve().parent / "fixtures" / "toy_course"
NNCOURSE = [sys.executable, "-m", "nncourse.cli"]


def toy_copy(dest):
    return configured_copy(TOY, dest)


def csv_rows(path):
    with open(path, encoding="utf-8") as f:
        return {(r["student_id"], r["assignment"]): r for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("toy")
    course = toy_copy(base / "course")
    run = demo(course, base / "demo", jobs=2, progress=False)
    return Course.load(base / "demo"), run


def test_demo_csv_and_report_have_the_expected_scores(demo_run):
    course, run = demo_run
    expected = course.settings._DEMO_EXPECTED      # the toy course's own test data, no setting
    rows = csv_rows(run.report.csv)
    got = {(s, a): float(r["score"]) for (s, a), r in rows.items()}
    assert got == {(s, a): v for s, per in expected.items() for a, v in per.items()}
    assert rows[("s05_broken", "t1_square")]["status"] == "failed"
    assert all(r["status"] == "graded" for k, r in rows.items() if k != ("s05_broken", "t1_square"))
    html = run.report.html.read_text(encoding="utf-8")
    assert "Could not be graded" in html and "s05_broken" in html
    assert "Most frequent failures" in html and "test_square" in html
    for png in ("scores_t1_square.png", "scores_t2_train.png", "scores_total.png", "exercises.png"):
        assert (run.report.directory / png).stat().st_size > 1000
        assert png in html
    assert run.exit_status == 1          # one submission could not be graded


def test_broken_submission_leaves_the_others_intact(demo_run):
    course, run = demo_run
    by = {(r["student"], r["assignment"]): r for r in run.results}
    assert "読み込めません" in by[("s05_broken", "t1_square")]["error"]
    # the kernel death in t2 is graded as far as it goes, with a plain message
    t2 = by[("s05_broken", "t2_train")]
    assert t2["status"] == "graded" and "カーネルが停止" in t2["problems"][0]
    assert by[("s01_reference", "t1_square")]["score"] == 5.0
    assert by[("s01_reference", "t2_train")]["score"] == 3.0


def test_feedback_shows_messages_but_not_hidden_tests(demo_run):
    course, run = demo_run
    pages = sorted((course.root / "feedback").rglob("*.html"))
    assert len(pages) == 10
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for secret in ("autograders", "check_square", "check_mean", "check_training",
                       "HIDDEN TESTS"):
            assert secret not in text, (page, secret)
    slow = (course.feedback_dir("s04_slow", "t2_train") / "train.html").read_text("utf-8")
    assert "学習が時間内に終わりませんでした (6 秒で打ち切り)" in slow
    assert "numerical_gradient を使っていませんか" in slow
    wrong = (course.feedback_dir("s03_double", "t1_square") / "square.html").read_text("utf-8")
    # the test cell shows the grader's verdict (the hidden check's message), not the kernel's
    assert "採点結果の概要" in wrong and "square(-3) の結果が違います" in wrong


@pytest.mark.slow     # over 30 s: the full suite runs it, the fast subset does not
def test_regrading_skips_unchanged_and_force_with_one_job_gives_the_same_grades(demo_run):
    course, run = demo_run
    before = csv_rows(run.report.csv)
    again = grade(course, jobs=1, progress=False)
    # only the submission that could not be graded is tried again
    assert [(r["student"], r["assignment"]) for r in again.results] == [("s05_broken", "t1_square")]
    assert len(again.skipped) == 9
    assert csv_rows(again.report.csv) == before
    forced = grade(course, jobs=1, force=True, progress=False)
    assert len(forced.results) == 10 and not forced.skipped
    after = csv_rows(forced.report.csv)
    assert {k: (r["score"], r["status"]) for k, r in after.items()} == \
        {k: (r["score"], r["status"]) for k, r in before.items()}


def test_changed_submission_is_regraded(demo_run):
    course, _ = demo_run
    path = course.submitted_dir("s03_double", "t1_square") / "square.ipynb"
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        cell.source = cell.source.replace("return x + x", "return x * x")
    nbformat.write(nb, path)
    run = grade(course, ["t1_square"], progress=False)
    regraded = {(r["student"], r["assignment"]): r["score"] for r in run.results}
    assert regraded[("s03_double", "t1_square")] == 5.0
    assert ("s01_reference", "t1_square") in run.skipped
    assert (course.root / "reports" / "t1_square" / "grades.csv").is_file()


def test_grade_cli_exit_status_says_a_submission_could_not_be_graded(demo_run):
    course, _ = demo_run
    proc = subprocess.run(NNCOURSE + ["--course-dir", str(course.root), "grade", "t1_square",
                                      "--no-progress"], capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    assert "NOT GRADED s05_broken/t1_square" in proc.stdout


@pytest.mark.slow     # over 30 s: the full suite runs it, the fast subset does not
def test_validate_passes_and_fails_when_a_reference_is_broken(tmp_path):
    course = toy_copy(tmp_path / "good")
    res = validate(course, jobs=2, progress=False)
    assert res.ok, res.format()
    broken = toy_copy(tmp_path / "broken")
    ref = broken.root / "reference" / "__init__.py"
    ref.write_text(ref.read_text().replace("return x * x", "return x * x + 1"))
    res = validate(broken, ["t1_square"], progress=False, workdir=tmp_path / "work")
    assert not res.ok
    assert "t1_square: reference 2/5 autograded points" in res.format()
    assert "square(0) の結果が違います" in res.format()


def test_build_refuses_a_release_that_leaks(tmp_path):
    course = toy_copy(tmp_path / "c")
    assert set(build(course)) == {"t1_square", "t2_train"}
    rel = course.release_dir("t1_square")
    assert not list(rel.glob("*.pct.py")) and "BEGIN" not in (rel / "square.ipynb").read_text()
    # a visible test that calls the hidden checks, and a copy of the reference module
    path = course.source_dir("t1_square") / "square.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[4].source = ("import autograders\nautograders.check_mean(mean)\n"
                          "### BEGIN HIDDEN TESTS\nimport autograders\nautograders.check_mean(mean)\n"
                          "### END HIDDEN TESTS")
    nbformat.write(nb, path)
    shutil.copy(course.root / "reference" / "__init__.py", course.source_dir("t1_square") / "ref.py")
    with pytest.raises(BuildError) as err:
        build(course, ["t1_square"])
    text = str(err.value)
    assert "refers to autograders/reference" in text and "copy of reference/__init__.py" in text
    assert not rel.exists()


def test_collect_from_a_zip_and_from_student_folders(tmp_path):
    course = toy_copy(tmp_path / "c")
    build(course)
    nb_text = (course.release_dir("t1_square") / "square.ipynb").read_text()
    export = tmp_path / "export.zip"
    with zipfile.ZipFile(export, "w") as z:
        z.writestr("lms/u001_square.ipynb", nb_text)
        z.writestr("lms/u002_attempt_2024-05-01-10-00-00_square (1).ipynb", nb_text)
        z.writestr("lms/noid.ipynb", nb_text)
        z.writestr("lms/notes.txt", "x")
    res = collect(course, "t1_square", export)
    assert sorted(d.parent.parent.name for _, d in res.placed) == ["u001", "u002"]
    assert (course.submitted_dir("u002", "t1_square") / "timestamp.txt").read_text() == \
        "2024-05-01-10-00-00"
    assert sorted(s for s, _ in res.unplaced) == ["noid.ipynb", "notes.txt"]
    folders = tmp_path / "folders"
    (folders / "u003").mkdir(parents=True)
    (folders / "u003" / "train.ipynb").write_text(nb_text)
    (folders / "u003" / "data.csv").write_text("1")
    res = collect(course, "t2_train", folders)
    assert [d for _, d in res.placed] == [course.submitted_dir("u003", "t2_train") / "train.ipynb"]
    assert res.unplaced == [("u003/data.csv", "not a notebook")]


@pytest.mark.slow     # over 30 s: the full suite runs it, the fast subset does not
def test_check_runs_only_visible_tests(tmp_path):
    course = toy_copy(tmp_path / "c")
    build(course)
    ok = tmp_path / "ok.ipynb"
    nbformat.write(reference_submission(course, "t1_square"), ok)
    assert check_notebook(ok).exit_status == 0
    # the instructor's source notebook: its hidden tests (here: always failing) do not run
    (course.root / "autograders" / "__init__.py").write_text("raise RuntimeError('hidden!')\n")
    src = check_notebook(course.source_dir("t1_square") / "square.ipynb")
    assert src.exit_status == 0, src.format()
    bad = reference_submission(course, "t1_square")
    apply_mistake(bad, {"assignment": "t1_square", "what": "x", "replace": "x * x",
                        "with": "x + x"})
    nbformat.write(bad, tmp_path / "bad.ipynb")
    proc = subprocess.run(NNCOURSE + ["check", str(tmp_path / "bad.ipynb")],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert "✗ test_square (3 点): AssertionError: assert square(3) == 9" in proc.stdout


def test_a_mistake_that_does_not_match_fails_loudly(tmp_path):
    course = toy_copy(tmp_path / "c")
    build(course)
    cohort = [{"student": "x", "kind": "mistakes", "mistakes": [
        {"assignment": "t1_square", "what": "nothing", "replace": "no such code", "with": ""}]}]
    with pytest.raises(CohortError, match="matches no solution cell"):
        create_cohort(course, cohort)
    assert not (course.root / "submitted").exists()


def test_notebook_time_budget_stops_the_notebook_with_a_message(tmp_path):
    from nncourse.kernel.execute import BudgetedExecute
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import time"),
        nbformat.v4.new_code_cell("time.sleep(60)"),     # far past the budget (3 s), within
        nbformat.v4.new_code_cell("print('never')")])     # the cell timeout (120 s)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    BudgetedExecute(timeout=120, notebook_timeout=3).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    names = [[o.get("ename") for o in c.outputs if o.output_type == "error"] for c in nb.cells]
    assert names[0] == [] and "NotebookTimeoutError" in names[1]
    assert names[2] == ["NotExecutedError"]
    assert "制限時間 3 秒" in json.dumps(nb.cells[2].outputs, ensure_ascii=False)


@pytest.mark.slow     # over 30 s: the full suite runs it, the fast subset does not
def test_a_visible_assert_the_hidden_check_misses_is_recorded(tmp_path):
    """The grader scores its hidden check only; when the visible asserts failed in the kernel
    but the hidden check passed (the toy check never tries 3), the result record names the
    cell in ``visible_only`` (the catalogue test requires no such cell for the real checks)."""
    course = toy_copy(tmp_path / "course")
    build(course, ["t1_square"])
    nb = reference_submission(course, "t1_square")
    for cell in nb.cells:
        cell.source = cell.source.replace("return x * x", "return 10 if x == 3 else x * x")
    dest = course.submitted_dir("s_gap", "t1_square")
    dest.mkdir(parents=True)
    nbformat.write(nb, dest / "square.ipynb")
    run = grade(course, ["t1_square"], progress=False)
    (r,) = run.results
    assert r["visible_only"] == ["test_square"]
    assert next(c for c in r["cells"] if c["grade_id"] == "test_square")["score"] == 3.0


@pytest.mark.slow
def test_a_check_slow_only_when_the_grader_calls_is_flagged(tmp_path):
    """A function that is slow only when the grader calls it (the visible asserts ran before
    the sleep was switched on) keeps its points but is flagged ``slow`` for the instructor
    (SLOW_CHECK_S), and the report's 要確認 section names it."""
    from nncourse.report.page import FLAGGED_TITLE
    course = configured_copy(TOY, tmp_path / "course",
                             "SLOW_CHECK_S = 1   # (test)\nCELL_TIMEOUT_S = 30\nNOTEBOOK_TIMEOUT_S = 120")
    build(course, ["t1_square"])
    nb = reference_submission(course, "t1_square")
    for cell in nb.cells:
        cell.source = cell.source.replace(
            "return x * x", "import time, builtins\n    if hasattr(builtins, '_slow'): "
            "time.sleep(0.6)\n    return x * x")
    nb.cells.append(nbformat.v4.new_code_cell("import builtins; builtins._slow = True"))
    test = next(i for i, c in enumerate(nb.cells)
                if c.metadata.get("nbgrader", {}).get("grade_id") == "test_square")
    nb.cells.insert(test, nb.cells.pop())          # switched on just before the test cell
    dest = course.submitted_dir("s_slow", "t1_square")
    dest.mkdir(parents=True)
    nbformat.write(nb, dest / "square.ipynb")
    run = grade(course, ["t1_square"], progress=False)
    (r,) = run.results
    assert next(c for c in r["cells"] if c["grade_id"] == "test_square")["score"] == 3.0
    assert [f["kind"] for f in r["flags"]] == ["slow"], r["flags"]
    html = run.report.html.read_text(encoding="utf-8")
    assert FLAGGED_TITLE in html and "s_slow" in html.split(FLAGGED_TITLE)[1]
