"""Every visible check at a glance (issue 19, item 2).

- Each notebook's test cells are tagged ``raises-exception`` (so JupyterLab, Notebook 7 and
  nbclient go on after a failure), begin with ``# テストセル: <grade_id>``, and the last cell
  lists exactly the notebook's test cells with their points.
- A release answered with the reference except one catalogue mutant runs top to bottom under
  nbclient *stopping on untagged errors* (what "Run All" does), as a student runs it (HOME
  empty, no course settings); the last cell's table shows exactly the mutant's test cells ✗
  with the mutant's hint and every other one ✓.
- nbgrader's own ``validate`` still flags that cell, and passes the reference.
- A fresh release (nothing answered) also runs to the table: every check ✗ with the stub message.
- The table's code is one file, ``reference/check_summary.py``, shipped beside every released
  notebook (``source/<aid>/check_summary.py`` is a symlink to it, as a4's ``mnist.py``); no
  notebook holds a copy.  Without the file (e.g. not uploaded to Colab) the notebook still
  runs to the end and the last cell says, in Japanese, to put it next to the notebook.
"""
import json
import re
import sys

import nbformat
import numpy as np
import pytest
from conftest import ROOT, assignments, nbgrader

from autograders import catalogue
from nncourse.build import build, release_notebook
from nncourse.cohort import reference_submission
from nncourse.core.course import Course, copy_course
from test_student_side import STUB_MESSAGE, run_notebook

ASSIGNMENTS = dict(assignments())
MARKER = "# テストセル: "
TAG = "raises-exception"
# one mutant per assignment whose visible asserts catch it (mutants.toml; its `loses`)
MUTANTS = {"a1_loss": "sse_no_half", "a2_gradient": "grad_1d_only",
           "a3_gradient_descent": "gd_alias_init_x", "a4_two_layer_net": "gradcheck_same_gradient"}
MNIST_LOAD = "= load_mnist(normalize=True, one_hot_label=True)"
HELPER = "check_summary.py"                        # the one shipped summary helper
HELPER_SOURCE = ROOT / "reference" / HELPER
HELPER_IMPORT = "from check_summary import Summary as _Summary, watch_cells as _watch_cells"


def _helper_cell_index(nb):
    return next(i for i, c in enumerate(nb.cells) if HELPER_IMPORT in c.source)


def _release_files(course, aid):
    """The files a student downloads beside the notebook (a4: also mnist.py)."""
    return sorted(p for p in release_notebook(course, aid).parent.iterdir() if p.suffix == ".py")


def _test_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
            and not c.metadata["nbgrader"].get("solution")]


def _summary_checks(nb):
    """(label, grade_id, points) of the summary cell's _Summary([...]) call."""
    cell = nb.cells[-1]
    assert cell.cell_type == "code" and "_Summary([" in cell.source, "the last cell is not the summary"
    return [(label, gid, int(points)) for label, gid, points
            in re.findall(r'\("([^"]+)", "([a-z0-9_]+)", (\d+)\)', cell.source)]


@pytest.mark.parametrize("aid", sorted(ASSIGNMENTS))
def test_test_cells_are_tagged_marked_and_listed_in_the_summary(aid):
    nb = nbformat.read(ASSIGNMENTS[aid], 4)
    tests = _test_cells(nb)
    for cell in tests:
        gid = cell.metadata.nbgrader.grade_id
        assert cell.source.startswith(MARKER + gid + "\n"), f"{aid}/{gid}: no marker line"
        assert TAG in cell.metadata.get("tags", []), f"{aid}/{gid}: not tagged {TAG}"
    checks = _summary_checks(nb)
    assert [(gid, pts) for _, gid, pts in checks] == \
        [(c.metadata.nbgrader.grade_id, c.metadata.nbgrader.points) for c in tests]
    assert len({label for label, _, _ in checks}) == len(checks)
    # every code cell after the helpers that runs the student's code goes on after an error;
    # a4's MNIST loading does not (without data the rest is pointless; its message is the fix)
    helpers = _helper_cell_index(nb)
    for cell in nb.cells[helpers + 1:-1]:
        if cell.cell_type == "code":
            assert (TAG in cell.metadata.get("tags", [])) == (MNIST_LOAD not in cell.source), \
                cell.source[:80]
    assert TAG not in nb.cells[-1].metadata.get("tags", [])


def _rows(cell):
    """(mark, label, grade_id, message) per row of the summary's text output."""
    [out] = [o for o in cell.outputs if o.output_type == "execute_result"]
    assert "text/html" in out.data and "<table>" in out.data["text/html"]
    text = out.data["text/plain"]
    rows = []
    for line in text.splitlines():
        m = re.match(r"([✓✗−]) (.+) \((\d+) 点\) ([a-z0-9_]+)$", line)
        if m:
            rows.append([m.group(1), m.group(2), m.group(4), ""])
        elif line.startswith("    ") and rows:
            rows[-1][3] += line[4:] + "\n"
    return text, rows


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    c = Course.load(copy_course(ROOT, tmp_path_factory.mktemp("summary") / "course"))
    build(c)
    return c


def _mutant_submission(course, aid):
    entry = next(e for e in catalogue.load().mutants if e.id == MUTANTS[aid])
    return entry, catalogue.apply(reference_submission(course, aid), entry)


@pytest.mark.slow     # about 50 s each: the full suite runs them, the fast subset does not
@pytest.mark.parametrize("aid", sorted(ASSIGNMENTS))
def test_run_all_shows_exactly_the_wrong_exercise(course, aid, tmp_path):
    entry, nb = _mutant_submission(course, aid)
    files = _release_files(course, aid)
    ran = run_notebook(nb, tmp_path / aid, allow_errors=False, files=files)
    assert all(c.execution_count for c in ran.cells if c.cell_type == "code" and c.source.strip()), \
        "Run All stopped before the last cell"
    errors = {c.metadata.nbgrader.grade_id for c in _test_cells(ran)
              if any(o.output_type == "error" for o in c.outputs)}
    assert errors == set(entry.loses)
    text, rows = _rows(ran.cells[-1])
    assert [r[2] for r in rows] == [gid for _, gid, _ in _summary_checks(ran)]
    wrong = {r[2]: r for r in rows if r[0] == "✗"}
    assert set(wrong) == set(entry.loses), text
    assert all(r[0] == "✓" for r in rows if r[2] not in wrong), text
    for r in wrong.values():
        assert entry.message in r[3], text
    assert "隠しテスト" in text and "テストセル以外でエラー" not in text
    if aid.startswith("a4"):
        _check_a4_digits_and_overfitting(ran)

    # nbgrader's own validate still sees the failure (it ignores the tags: errors are errors)
    folder = tmp_path / "validate"
    folder.mkdir()
    for f in files:
        (folder / f.name).write_bytes(f.read_bytes())
    nbformat.write(nb, folder / "wrong.ipynb")
    nbformat.write(reference_submission(course, aid), folder / "right.ipynb")
    proc = nbgrader(folder, "validate", "wrong.ipynb", check=False)
    out = proc.stdout + proc.stderr
    assert "VALIDATION FAILED ON 1 CELL(S)" in out or \
        f"VALIDATION FAILED ON {len(entry.loses)} CELL(S)" in out, out[-3000:]
    assert entry.message.split("。")[0][:15] in out, out[-3000:]
    proc = nbgrader(folder, "validate", "right.ipynb", check=False)
    assert "Success! Your notebook passes all the tests." in proc.stdout, proc.stdout[-3000:]


@pytest.mark.slow     # ~9 s: a kernel runs a1 (the fast subset runs the helper-cell test)
def test_fresh_release_runs_to_the_summary_with_every_check_not_implemented(course, tmp_path):
    nb = nbformat.read(release_notebook(course, "a1_loss"), 4)
    ran = run_notebook(nb, tmp_path / "a1", allow_errors=False, files=_release_files(course, "a1_loss"))
    text, rows = _rows(ran.cells[-1])
    assert rows and all(r[0] == "✗" for r in rows), text
    assert all(STUB_MESSAGE in r[3] for r in rows), text


def test_summary_outside_ipython_and_without_running_anything(monkeypatch):
    """The helper cell runs under plain Python (tests/test_autograders_* exec the twins) with the
    shipped check_summary.py beside it, and a summary before any test cell ran says so
    (− まだ実行していません)."""
    nb = nbformat.read(ASSIGNMENTS["a1_loss"], 4)
    helpers = nb.cells[_helper_cell_index(nb)]
    monkeypatch.syspath_prepend(str(ASSIGNMENTS["a1_loss"].parent))    # the notebook's folder
    monkeypatch.delitem(sys.modules, "check_summary", raising=False)
    ns = {}
    try:
        exec(compile("import numpy as np\n" + helpers.source, "helpers", "exec"), ns)
    finally:
        shipped = sys.modules.pop("check_summary", None)
    assert shipped is not None and shipped.__file__ == str(ASSIGNMENTS["a1_loss"].parent / HELPER)
    summary = ns["_Summary"]([("問 1", "test_sum_squared_error", 2)])
    assert repr(summary).splitlines()[1] == "− 問 1 (2 点) test_sum_squared_error"
    assert "まだ実行していません" in summary._repr_html_()
    json.dumps(summary._repr_html_())



def _helper_lines():
    """The helper's own code lines (no comments, docstrings' short lines or trivial lines)."""
    lines = {line.strip() for line in HELPER_SOURCE.read_text(encoding="utf-8").splitlines()}
    return {line for line in lines if len(line) >= 24 and not line.startswith("#")}


def test_every_release_ships_the_one_helper_and_no_notebook_copies_it(course):
    """One file made into every release by build: source/<aid>/check_summary.py is a symlink to
    reference/check_summary.py, release/<aid>/ holds a copy of exactly it (a release works with
    nothing but its own files), and neither the source twin, the source notebook nor the
    released notebook holds a line of it; the helper cell only imports and calls it."""
    assert len(_helper_lines()) > 30
    for aid, source_nb in ASSIGNMENTS.items():
        link = source_nb.parent / HELPER
        assert link.is_symlink() and link.resolve() == HELPER_SOURCE.resolve(), aid
        shipped = course.release_dir(aid) / HELPER
        assert shipped.is_file() and not shipped.is_symlink(), aid
        assert shipped.read_bytes() == HELPER_SOURCE.read_bytes(), aid
        twin = source_nb.with_name(source_nb.stem + ".pct.py").read_text(encoding="utf-8")
        for text in (twin, source_nb.read_text(encoding="utf-8"),
                     "\n".join(c.source for c in nbformat.read(release_notebook(course, aid), 4).cells)):
            copied = [line for line in _helper_lines() if line in text]
            assert not copied, (aid, copied[:5])
        nb = nbformat.read(release_notebook(course, aid), 4)
        helper_cell = nb.cells[_helper_cell_index(nb)].source
        assert helper_cell.count("_watch_cells()") == 1 and "def _record(" not in helper_cell
        assert nb.cells[-1].source.count("_Summary([") == 1


@pytest.mark.slow     # ~10 s: a kernel runs a1
def test_without_the_helper_file_the_notebook_runs_to_the_end_and_says_so(course, tmp_path):
    """A student who did not put check_summary.py next to the notebook (Colab: not uploaded):
    Run All still runs every cell, the answered notebook shows no error, and the helper cell
    and the last cell say in Japanese where to put the file (no table)."""
    nb = run_notebook(reference_submission(course, "a1_loss"), tmp_path / "no-helper",
                      allow_errors=False)
    assert not (tmp_path / "no-helper" / HELPER).exists()
    assert all(c.execution_count for c in nb.cells if c.cell_type == "code" and c.source.strip())
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
                if o.output_type == "error"]
    for cell in (nb.cells[_helper_cell_index(nb)], nb.cells[-1]):
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        assert "注意: check_summary.py が見つからない" in text and "同じフォルダに置いてください" in text, text
        assert "Google Colab では左の「ファイル」にアップロード" in text, text
    assert not [o for o in nb.cells[-1].outputs if o.output_type == "execute_result"]



def test_running_the_helper_cell_again_starts_over_with_one_hook(course, tmp_path):
    """As when the hook lived in the notebook: running the helper cell again (after the test
    cells ran) leaves one post_run_cell hook and forgets the results, so the table shows
    every check − until the test cells run again; running one again marks it ✓."""
    from nbformat.v4 import new_code_cell
    nb = reference_submission(course, "a1_loss")
    helper = nb.cells[_helper_cell_index(nb)].source
    first_test = next(c.source for c in _test_cells(nb))
    nb.cells += [new_code_cell(helper), new_code_cell(
        'print("HOOKS", sum(getattr(f, "__name__", "") == "_record"\n'
        '                   for f in get_ipython().events.callbacks["post_run_cell"]))'),
        new_code_cell(nb.cells[-1].source), new_code_cell(first_test), new_code_cell(nb.cells[-1].source)]
    ran = run_notebook(nb, tmp_path / "again", allow_errors=False, files=_release_files(course, "a1_loss"))
    assert "HOOKS 1\n" in "".join(o.get("text", "") for o in ran.cells[-4].outputs)
    _, before = _rows(ran.cells[-6])
    _, reset = _rows(ran.cells[-3])
    _, one = _rows(ran.cells[-1])
    assert before and all(r[0] == "✓" for r in before)
    assert [r[0] for r in reset] == ["−"] * len(before)
    assert [r[0] for r in one] == ["✓"] + ["−"] * (len(before) - 1)


# --- a2: the slides' 1-D numerical_gradient on the matrix test (issue 19, item 3) ---------------

SLIDES_GRADIENT = '''
def numerical_gradient(f, x):
    h = 1e-4 # 0.0001
    grad = np.zeros_like(x)
    for idx in range(x.size):
        tmp_val = x[idx]
        x[idx] = float(tmp_val) + h
        fxh1 = f(x) # f(x+h)
        x[idx] = tmp_val - h
        fxh2 = f(x) # f(x-h)
        grad[idx] = (fxh1 - fxh2) / (2*h)
        x[idx] = tmp_val # 値を元に戻す
    return grad
'''
# the slides' code as written (float(row): TypeError), without float() (x[2] of a 2-row
# matrix: IndexError), and with a test of the element (a row's truth value: ValueError)
SLIDES_VARIANTS = {
    "TypeError": SLIDES_GRADIENT,
    "IndexError": SLIDES_GRADIENT.replace("float(tmp_val) + h", "tmp_val + h"),
    "ValueError": SLIDES_GRADIENT.replace("        tmp_val = x[idx]\n",
                                          "        tmp_val = x[idx]\n        if tmp_val == 0:\n"
                                          "            continue\n"),
}


@pytest.mark.parametrize("error", sorted(SLIDES_VARIANTS))
def test_slides_numerical_gradient_on_the_matrix_test_shows_the_japanese_hint(course, error):
    """The release's cells (imports, helpers, function_2, the matrix test) run with the slides'
    numerical_gradient: the test fails with the prepared hint, the raw error chained to it."""
    nb = nbformat.read(release_notebook(course, "a2_gradient"), 4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in nb.cells}
    ns = {}
    for gid in ("a2_imports", "a2_test_helpers"):
        exec(cells[gid], ns)
    exec(SLIDES_VARIANTS[error], ns)
    exec(cells["function_2_given"], ns)
    with pytest.raises(AssertionError) as failed:
        exec(cells["test_numerical_gradient_matrix"], ns)
    message = str(failed.value)
    assert message.startswith(error + ": ")
    assert type(failed.value.__cause__).__name__ == error
    assert "1 つの要素ではなく 1 行全体になります" in message and "np.ndindex(x.shape)" in message
    assert error in message.split("\n", 1)[1]       # the hint names this very error


# --- a4: BLAS threads (issue 19, item 4) ----------------------------------------------------------

def test_a4_sets_one_blas_thread_before_numpy_is_imported(tmp_path):
    """a4's first code cell, run by a fresh Python: the BLAS thread variables are 1 when numpy
    is imported, and a value the student set beforehand is kept."""
    import os
    import subprocess
    import sys
    nb = nbformat.read(ASSIGNMENTS["a4_two_layer_net"], 4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert first.source.index("OPENBLAS_NUM_THREADS") < first.source.index("import numpy")
    probe = ("import sys\n"
             "class Probe:\n"
             "    def find_spec(self, name, path=None, target=None):\n"
             "        if name == 'numpy':\n"
             "            import os\n"
             "            print('AT_IMPORT', os.environ.get('OPENBLAS_NUM_THREADS'),"
             " os.environ.get('OMP_NUM_THREADS'), os.environ.get('MKL_NUM_THREADS'))\n"
             "        return None\n"
             "sys.meta_path.insert(0, Probe())\n")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    for preset, want in ((None, "1 1 1"), ("2", "2 1 1")):
        run_env = dict(env, **({"OPENBLAS_NUM_THREADS": preset} if preset else {}))
        out = subprocess.run([sys.executable, "-c", probe + first.source], cwd=tmp_path, env=run_env,
                             capture_output=True, text=True, timeout=120).stdout
        assert f"AT_IMPORT {want}" in out.splitlines()[0], out


# --- the lecture's first and last slides, taught (issue 19, items 5 and 7) ---------------------

def _check_a4_digits_and_overfitting(ran):
    """a4 shows MNIST digits before training, and its small-subset run overfits: the 300
    training images reach accuracy 1.0 while the test images stay far below."""
    digits = next(c for c in ran.cells if c.cell_type == "code" and "image.reshape(28, 28)" in c.source)
    assert any("image/png" in o.get("data", {}) for o in digits.outputs)
    small = next(c for c in ran.cells if c.cell_type == "code" and "small_net = TwoLayerNet" in c.source)
    assert any("image/png" in o.get("data", {}) for o in small.outputs)
    line = "".join(o.get("text", "") for o in small.outputs if o.output_type == "stream")
    m = re.search(r"訓練データの認識精度 ([0-9.]+)、テストデータの認識精度 ([0-9.]+)", line)
    train_acc, test_acc = float(m.group(1)), float(m.group(2))
    assert train_acc >= 0.99 and 0.6 < test_acc < 0.9 and train_acc - test_acc > 0.1, line


def _cells_by_source(nb, *needles):
    return [next(c.source for c in nb.cells if c.cell_type == "code" and n in c.source) for n in needles]


def test_a3_lr10_text_tells_the_truth():
    """a3's explanation of lr=10: -19 times per step, then frozen near -2.6e13 because x + h
    rounds to x there (the numerical gradient is 0)."""
    from reference import gradient_descent, numerical_gradient
    text = "\n".join(c.source for c in nbformat.read(ASSIGNMENTS["a3_gradient_descent"], 4).cells)
    assert "-2.6 \\times 10^{13}" in text and "-19x" in text and "lr} > 1" in text
    f = lambda x: float(np.sum(x ** 2))  # noqa: E731
    x, hist = gradient_descent(f, np.array([-3.0, 4.0]), lr=10.0, step_num=100)
    assert np.allclose(hist[1], [57.0, -76.0]) and np.allclose(hist[2], [-1083.0, 1444.0], rtol=1e-6)
    assert -2.7e13 < x[0] < -2.5e13 and -1.4e12 < x[1] < -1.2e12
    assert np.array_equal(numerical_gradient(f, x.copy()), [0.0, 0.0])
    assert np.array_equal(hist[20], x)            # frozen long before step 100


@pytest.mark.parametrize("lr,step_num", [(1.05, 20), (10.0, 100), (0.1, 20)])
def test_a3_explorer_axes_follow_the_path(course, lr, step_num):
    """plot_descent's axes contain every point of the path (so divergence is visible), and stay
    at ±4.5 for a converging learning rate."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from reference import gradient_descent
    nb = nbformat.read(release_notebook(course, "a3_gradient_descent"), 4)
    [given, explorer] = _cells_by_source(nb, "def function_2(", "def plot_descent(")
    ns = {"np": np, "plt": plt}
    exec(given, ns)
    ns["gradient_descent"] = gradient_descent
    exec(explorer.split("\ntry:\n    import ipywidgets")[0], ns)
    plt.close("all")
    ns["plot_descent"](lr, step_num)
    ax = plt.gcf().axes[0]
    x_end, path = gradient_descent(ns["function_2"], np.array([-3.0, 4.0]), lr=lr, step_num=step_num)
    reach = np.max(np.abs(np.vstack([path, x_end])))
    lo, hi = ax.get_xlim()
    assert hi >= reach and lo <= -reach and ax.get_ylim()[1] >= reach
    if reach < 4.5:
        assert (lo, hi) == (-4.5, 4.5)
    plt.close("all")


def test_a1_teaches_training_and_test_data_first():
    nb = nbformat.read(ASSIGNMENTS["a1_loss"], 4)
    first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    before = "\n".join(c.source for c in nb.cells[:first_code])
    for term in ("訓練データ (training data)", "テストデータ (test data)", "汎化能力 (generalization ability)",
                 "過学習 (overfitting)"):
        assert term in before, term


@pytest.mark.parametrize("aid", sorted(ASSIGNMENTS))
def test_each_notebook_ends_with_try_more_then_before_submit(aid):
    nb = nbformat.read(ASSIGNMENTS[aid], 4)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id", "") for c in nb.cells[-3:]]
    assert ids == [f"{aid[:2]}_try_more", f"{aid[:2]}_before_submit", f"{aid[:2]}_check_summary"]
    assert "採点されません" in nb.cells[-3].source and nb.cells[-3].cell_type == "markdown"


@pytest.mark.slow     # needs the graded demo cohort (minutes, shared with the full suite's others)
def test_feedback_pages_point_to_the_graders_table_not_the_kernels(demo_cohort):
    """The summary cell's table is the visible tests as the student's kernel saw them (✓ can
    stand where a hidden test gave 0): every feedback page shows a pointer to the grader's
    table on top instead."""
    from nncourse.feedback.preprocessors import SELF_CHECK_NOTE
    course, _ = demo_cohort
    pages = sorted((course.root / "feedback").glob("*/*/*.html"))
    assert len(pages) >= 8, pages
    for page in pages:
        text = page.read_text(encoding="utf-8")
        if "テストと解答ごとの点数とメッセージ" not in text:
            continue                        # a not-graded page: no notebook, no table
        assert SELF_CHECK_NOTE in text, page
        assert "見えているテストの結果:" not in text, page
