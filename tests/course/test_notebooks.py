"""Source notebooks: structure, text twins, execution, and the real nbgrader pipeline."""
import csv
import json
import re
import subprocess
import sys

import nbformat
import pytest
from conftest import ROOT, assignments, copy_course, nbgrader

ASSIGNMENTS = assignments()
IDS = [aid for aid, _ in ASSIGNMENTS]


def test_every_assignment_has_a_source_notebook():
    import course_config
    assert sorted(IDS) == sorted(course_config.ASSIGNMENTS)


@pytest.mark.parametrize("aid,path", ASSIGNMENTS, ids=IDS)
def test_source_notebook_has_no_outputs(aid, path):
    nb = nbformat.read(path, 4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, cell.source[:60]


def test_grade_ids_are_unique_and_descriptive():
    seen = {}
    for aid, path in ASSIGNMENTS:
        for cell in nbformat.read(path, 4).cells:
            meta = cell.metadata.get("nbgrader")
            if not meta:
                continue
            gid = meta["grade_id"]
            assert re.fullmatch(r"[a-z][a-z0-9_]{3,}", gid), f"{aid}: grade_id {gid!r}"
            assert not re.fullmatch(r"cell[-_]?[0-9a-f]+", gid), f"{aid}: generic id {gid!r}"
            assert gid not in seen, f"grade_id {gid!r} in {aid} and {seen.get(gid)}"
            seen[gid] = aid


@pytest.mark.parametrize("aid,path", ASSIGNMENTS, ids=IDS)
def test_every_notebook_has_a_text_twin(aid, path):
    twin = path.with_name(path.stem + ".pct.py")
    assert twin.exists(), f"{twin} missing: each notebook has a jupytext twin"


def test_text_twins_agree_with_notebooks():
    """scripts/sync_notebooks.py --check: every twin gives its notebook's cells (type, source,
    metadata); it names each pair that disagrees."""
    out = subprocess.run([sys.executable, ROOT / "scripts" / "sync_notebooks.py", "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("aid,path", ASSIGNMENTS, ids=IDS)
def test_each_graded_cell_is_well_formed(aid, path):
    nb = nbformat.read(path, 4)
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
             and c.cell_type == "code"]
    assert tests, f"{aid} has no autograded test cell"
    for cell in tests:
        src = cell.source
        assert cell.metadata["nbgrader"]["points"] > 0
        # first line: the marker the summary cell reads (tests/course/test_check_summary.py), then a docstring
        marker = f"# テストセル: {cell.metadata['nbgrader']['grade_id']}\n"
        assert src.startswith(marker), f"{aid}: test cell without its first line {marker!r}"
        assert src[len(marker):].lstrip().startswith(('"""', "'''")), f"{aid}: test cell without docstring"
        assert "### BEGIN HIDDEN TESTS" in src and "### END HIDDEN TESTS" in src, \
            f"{aid}/{cell.metadata['nbgrader']['grade_id']}: no hidden tests"
        hidden = src.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
        assert "autograders" in hidden
        assert len([ln for ln in hidden.splitlines() if ln.strip()]) <= 3, \
            "a hidden test is one or two lines calling autograders"
        visible = src.split("### BEGIN HIDDEN TESTS")[0]
        assert "autograders" not in visible and "reference" not in visible


@pytest.mark.parametrize("aid,path", [pytest.param(a, p, marks=pytest.mark.slow)
                                      if a.startswith("a4") else (a, p)
                                      for a, p in ASSIGNMENTS], ids=IDS)   # a4 trains: slow
def test_solution_notebook_runs_top_to_bottom(aid, path, tmp_path):
    """The solutions and visible tests, as a grading kernel runs them (the hidden checks run
    in the grader: tests/course/test_nncourse_course.py, test_catalogue.py)."""
    from nbclient import NotebookClient
    from nncourse.core.notebook import remove_hidden_tests
    from nncourse.kernel.execute import WIDGETS
    course = copy_course(tmp_path / "course")
    nb_path = course / "source" / aid / path.name
    nb = nbformat.read(nb_path, 4)
    for cell in nb.cells:
        cell.source = remove_hidden_tests(cell.source)
    # with the grader's Output widget stand-in: nbclient's own can make the poll miss the
    # reply of a3's ipywidgets.interact cell until the timeout (jupyter/nbclient#312)
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(nb_path.parent)}})
    client.widget_registry = WIDGETS
    client.execute()
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", f"{aid}: {out.get('ename')}: {out.get('evalue')}"
            assert not (out.output_type == "stream" and out.name == "stderr"), \
                f"{aid}: stderr output: {out.text[:300]}"


def _scan_release(course, aid, source_nb):
    release = course / "release" / aid
    text = "\n".join(p.read_text(encoding="utf-8", errors="replace")
                     for p in release.rglob("*") if p.is_file() and p.suffix in (".ipynb", ".py"))
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "HIDDEN TESTS",
                   "import autograders", "from autograders", "from reference", "import reference"):
        assert marker not in text, f"release of {aid} contains {marker!r}"
    assert not list(release.rglob("*.pct.py")), "a text twin (with solutions) reached the release"
    # no line of a solution region (longer than trivial) survives into the release notebook
    released = "\n".join(c.source for c in nbformat.read(release / source_nb.name, 4).cells)
    for cell in nbformat.read(source_nb, 4).cells:
        for region in re.findall(r"### BEGIN (?:SOLUTION|HIDDEN TESTS)(.*?)### END",
                                 cell.source, re.S):
            for line in region.splitlines():
                line = line.strip()
                if len(line) > 12 and not line.startswith("#") and line not in SHARED_LINES:
                    assert line not in released, f"{aid}: solution line in release: {line}"


# lines that may legitimately appear both in a solution and elsewhere in a notebook
SHARED_LINES = {"return grad", "return x, np.array(x_history)",
                "train_step(network, x_batch, t_batch, learning_rate)"}  # a4's task text names the call


@pytest.mark.slow
def test_nbgrader_pipeline_full_marks_for_solutions_zero_for_release(tmp_path):
    """Stock nbgrader on every assignment at once (its assignment id is a glob: one start of
    nbgrader per step, not one per assignment)."""
    course = copy_course(tmp_path / "course")
    nbgrader(course, "generate_assignment", "*", "--force")
    assert sorted(p.name for p in (course / "release").iterdir()) == sorted(IDS)
    for aid, path in ASSIGNMENTS:
        _scan_release(course, aid, path)
        for student, src in (("solutions", course / "source" / aid / path.name),
                             ("untouched", course / "release" / aid / path.name)):
            dest = course / "submitted" / student / aid
            dest.mkdir(parents=True, exist_ok=True)
            (dest / path.name).write_bytes(src.read_bytes())
    nbgrader(course, "autograde", "*")
    nbgrader(course, "export", "--to", str(course / "grades.csv"))
    rows = list(csv.DictReader(open(course / "grades.csv", encoding="utf-8")))
    by = {(r["assignment"], r["student_id"]): r for r in rows}
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for aid, path in ASSIGNMENTS:
            sol = gb.find_submission_notebook(path.stem, aid, "solutions")
            untouched = gb.find_submission_notebook(path.stem, aid, "untouched")
            auto = [g for g in sol.grades if g.auto_score is not None]
            assert auto, f"{aid}: no autograded cell"
            for g in auto:
                assert g.auto_score == g.max_score, f"{aid}/{g.name}: solutions got {g.auto_score}/{g.max_score}"
            for g in untouched.grades:
                if g.auto_score is not None:
                    assert g.auto_score == 0, f"{aid}/{g.name}: untouched release passes vacuously"
            row = by[(aid, "untouched")]
            assert float(row["raw_score"]) == 0.0
    # the feedback pipeline runs on the graded submissions too
    nbgrader(course, "generate_feedback", ASSIGNMENTS[0][0])
    pages = list((course / "feedback").rglob("*.html"))
    assert pages
    # nncourse's pages (course_config.py), MathJax from the course's one shared copy
    assert (course / "feedback" / "_mathjax" / "tex-svg.js").stat().st_size > 1_000_000
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "採点結果の概要" in text and 'src="../../_mathjax/tex-svg.js"' in text, page
    json.dumps(rows)  # rows are plain data


def test_one_vocabulary_and_one_layout():
    """The slides' terms and one layout in every notebook (issue 19, item 6): ワンホット表現,
    問 N, 隠しテスト; the same 提出の前に block; a Colab section that says what to upload (every
    notebook: check_summary.py; a4: also mnist.py) and that it vanishes when the runtime resets."""
    blocks = set()
    for aid, path in ASSIGNMENTS:
        nb = nbformat.read(path, 4)
        text = "\n".join(c.source for c in nb.cells)
        for wrong in ("one-hot 表現", "隠れたテスト", "Google Colaboratory"):
            assert wrong not in text, f"{aid}: {wrong!r}"
        assert not re.search(r"課題 \d-\d", text), f"{aid}: 課題 N-M numbering"
        assert re.findall(r"(?m)^### 問 1\b", text), f"{aid}: no 問 1"
        colab = text.split("## 実行環境", 1)[1].split("\n## ", 1)[0]
        assert "**Google Colab**" in colab and "リセット" in colab and "消え" in colab, aid
        assert "ノートブックをアップロード" in colab and ".ipynb をダウンロード" in colab, aid
        assert "check_summary.py" in colab and "セッション ストレージにアップロード" in colab, aid
        if aid.startswith("a4"):
            assert "mnist.py" in colab and "セッション ストレージにアップロード" in colab
        before = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id", "").endswith("_before_submit")]
        assert len(before) == 1 and nb.cells.index(before[0]) == len(nb.cells) - 2, aid
        blocks.add(before[0].source)
    assert len(blocks) == 1, "the 提出の前に blocks differ"
