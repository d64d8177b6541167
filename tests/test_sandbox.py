"""The grading sandbox (nncourse/sandbox.py): what a student's code can reach while graded.

Fast tests check the bwrap command and the NumPy restore; the slow ones grade a "spy"
submission that tries to read the course's private files and reach the network, with the
sandbox and (``NNCOURSE_NO_SANDBOX=1``) without it, through ``nncourse grade``.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy
import pytest

from nncourse import sandbox
from nncourse.build import ensure_built, release_notebook
from nncourse.cohort import reference_submission
from nncourse.course import Course, copy_course

ROOT = Path(__file__).resolve().parent.parent
needs_bwrap = pytest.mark.skipif(not sandbox.available(), reason="bubblewrap not usable here")

# the spy's probes: name -> code that must fail inside the sandbox (it prints PROBE name ...)
PROBES = {
    "source": "open('{course}/source/a1_loss/loss_functions.ipynb').read()",
    "reference": "open('{course}/reference/losses.py').read()",
    "autograders": "open('{course}/autograders/a1_loss.py').read()",
    "gradebook": "open('{course}/gradebook.db', 'rb').read()",
    "other_student": "open('{course}/submitted/good_1/a1_loss/loss_functions.ipynb').read()",
    "checkout": f"open('{ROOT}/reference/losses.py').read()",
    "network": "__import__('socket').create_connection(('192.0.2.1', 80), timeout=2)",
    "write_course": "open('{course}/reference/pwned.py', 'w').write('x')",
}
SPY = "".join(f"try:\n    {code}\n    print('PROBE {name} REACHED')\nexcept Exception as e:\n"
              f"    print('PROBE {name} BLOCKED', type(e).__name__)\n" for name, code in PROBES.items())
SPY += ("import resource\nprint('PROBE rlimit_as', resource.getrlimit(resource.RLIMIT_AS)[0])\n")


def test_no_sandbox_env_turns_it_off(monkeypatch):
    monkeypatch.setenv("NNCOURSE_NO_SANDBOX", "1")
    assert sandbox.available() is False


def test_bwrap_command_hides_course_and_network(tmp_path):
    course = tmp_path / "course"
    args = sandbox.bwrap_args(tmp_path / "work", tmp_path / "k", [course], [], tmp_path / "b",
                              {"HOME": "/tmp/home"})
    text = " ".join(map(str, args))
    assert f"--tmpfs {course}" in text and "--unshare-net" in text
    assert f"--ro-bind {tmp_path / 'b'} {sandbox.BUNDLE_MOUNT}" in text
    assert "--unshare-pid" not in text            # ipykernel would exit (parent poller)
    assert text.index("--tmpfs /tmp") < text.index(f"--tmpfs {course}")


def test_restore_numpy_undoes_monkeypatching():
    from nncourse import kernel_boot
    original = numpy.allclose
    numpy.allclose = lambda *a, **k: True
    try:
        assert kernel_boot.restore_numpy() >= 1
        assert numpy.allclose is original
    finally:
        numpy.allclose = original


@needs_bwrap
def test_sandbox_hides_a_directory_and_the_network(tmp_path):
    secret = tmp_path / "course"
    secret.mkdir()
    (secret / "answer.txt").write_text("42")
    venv = Path(sys.prefix)                  # re-bound read-only, as grading does
    args = sandbox.bwrap_args(None, tmp_path / "k", [secret], [venv], tmp_path, {})
    (tmp_path / "k").mkdir()
    code = (f"import os, socket\nprint(os.listdir({str(secret)!r}))\n"
            "try:\n    socket.create_connection(('192.0.2.1', 80), timeout=2)\n    print('net')\n"
            "except OSError:\n    print('no net')\n")
    out = subprocess.run(args + [sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.split("\n")[:2] == ["[]", "no net"], out.stderr


@pytest.fixture(scope="module")
def spy_course(tmp_path_factory):
    course = Course.load(copy_course(ROOT, tmp_path_factory.mktemp("spy") / "course"))
    ensure_built(course, ["a1_loss"])
    name = release_notebook(course, "a1_loss").name
    for student in ("good_1", "spy"):
        nb = reference_submission(course, "a1_loss")
        if student == "spy":
            cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
            cell.source = SPY.replace("{course}", str(course.root)) + "\n" + cell.source
        dest = course.submitted_dir(student, "a1_loss")
        dest.mkdir(parents=True)
        nbformat.write(nb, dest / name)
    return course


def grade_cli(course, env=None):
    return subprocess.run([sys.executable, "-m", "nncourse.cli", "--course-dir", str(course.root),
                           "grade", "--force", "--no-progress", "--jobs", "2", "a1_loss"],
                          capture_output=True, text=True, env={**os.environ, **(env or {})})


def probes(course):
    nb = nbformat.read(course.autograded_dir("spy", "a1_loss") / "loss_functions.ipynb", 4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.outputs if o.get("output_type") == "stream")
    return dict(re.findall(r"PROBE (\S+) (\S+)", text))


@pytest.mark.slow
@needs_bwrap
def test_spy_reaches_nothing_in_the_sandbox_and_is_still_graded(spy_course):
    proc = grade_cli(spy_course)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert "NO SANDBOX" not in proc.stdout
    got = probes(spy_course)
    assert {k: got.get(k) for k in PROBES} == {k: "BLOCKED" for k in PROBES}, got
    limit = int(spy_course.setting("KERNEL_MEMORY_MIB")) * 1024 * 1024
    assert got["rlimit_as"] == str(limit)
    assert not (spy_course.root / "reference" / "pwned.py").exists()
    assert re.search(r"spy\s+7/11", proc.stdout), proc.stdout


@pytest.mark.slow
def test_without_sandbox_grading_goes_on_with_a_loud_warning(spy_course):
    proc = grade_cli(spy_course, {"NNCOURSE_NO_SANDBOX": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert proc.stdout.count("WARNING: NO SANDBOX") == 2          # top and bottom of summary
    assert re.search(r"good_1\s+7/11", proc.stdout), proc.stdout
    assert "NO SANDBOX" in (spy_course.root / "reports" / "a1_loss" / "report.html").read_text(
        encoding="utf-8")
    got = probes(spy_course)
    assert got["reference"] == "REACHED"          # what the warning is about
    assert got["rlimit_as"] != "-1"               # the rlimits still apply
    (spy_course.root / "reference" / "pwned.py").unlink(missing_ok=True)


# --- the guard (issue #5): no reading or importing the reference / hidden tests -------------

BUNDLE_FILE = sandbox.BUNDLE_MOUNT + "/reference/losses.py"
# solution cells of a1_loss replaced by cheats: grade_id -> source
CHEATS = {
    "importer": {"sum_squared_error": "from reference.losses import sum_squared_error\n"},
    "reader": {"sum_squared_error": (
        "_calls = []\n"
        "def sum_squared_error(y, t):\n"
        "    _calls.append(1)\n"
        "    if len(_calls) > 6:      # the visible tests make 6 calls: only the hidden check reads\n"
        f"        open({BUNDLE_FILE!r}).read()\n"
        "    return 0.5 * np.sum((y - t) ** 2)\n")},
    "snooper": {"cross_entropy_error": (
        "import sys\n"
        "def cross_entropy_error(y, t):\n"
        "    ref = sys.modules.get('reference') or __import__('reference')\n"
        "    return ref.losses.cross_entropy_error(y, t)\n")},
}


def test_hidden_regions_run_between_unlock_and_lock():
    from nncourse.execute import guard_hidden_tests
    src = ("assert f(1) == 1\n### BEGIN HIDDEN TESTS\nfrom autograders import a1_loss\n"
           "a1_loss.check(f)\n### END HIDDEN TESTS\n")
    out = guard_hidden_tests(src, "tok")
    assert out.startswith("assert f(1) == 1\n### BEGIN HIDDEN TESTS\n"
                          "__nncourse_guard__.unlock('tok')\ntry:\n    from autograders")
    assert "    __nncourse_guard__.lock(__nncourse_exc__)\n    raise\nelse:\n" in out
    compile(out, "cell", "exec")
    assert guard_hidden_tests("x = 1\n", "tok") == "x = 1\n"


GUARD_SCRIPT = r'''
import hashlib, json, os, sys
sys.path.insert(0, {root!r})
from nncourse import kernel_boot
bundle, kdir = sys.argv[1], sys.argv[2]
sys.path.insert(0, bundle)       # as PYTHONPATH in the sandbox
tok = "t0ken"           # the grader writes the token's hash before the cell runs
open(os.path.join(kdir, "guard-tokens"), "w").write(hashlib.sha256(tok.encode()).hexdigest() + "\n")
guard = kernel_boot.install_guard(bundle, kdir)
guard.lib += ("<string>",)       # this script plays IPython (library code); "cells" are files
g = __import__("builtins").__nncourse_guard__
secret = os.path.join(bundle, "reference", "losses.py")
ns = {{"secret": secret, "np": __import__("numpy"), "seen": {{}}}}
def cell(code, name):
    exec(compile(code, f"/tmp/ipykernel_0/{{name}}.py", "exec"), ns)
def attempt(code, name):
    try:
        cell(code, name)
        return "ok"
    except (PermissionError, ImportError) as e:
        return "blocked"
out = {{}}
out["import_locked"] = attempt("import reference", "c1")
out["open_locked"] = attempt("open(secret).read()", "c2")
out["numpy_ok"] = attempt("import numpy, json; numpy.ones(3).sum(); import matplotlib.pyplot", "c3")
out["config_ok"] = attempt("import course_config", "c8")   # public: mnist.py reads it
out["own_file_ok"] = attempt("open(os.devnull).read()" .replace("os.", "__import__('os').") , "c4")
cell("def student(x):\n    return open(secret).read()\n", "c5")
cell("def honest(x):\n    return x + 1\n", "c6")
out["tokens_file"] = attempt("open(" + repr(os.path.join(kdir, "guard-tokens")) + ", 'a')", "c7")
hidden = ("__nncourse_guard__.unlock({{tok!r}})\ntry:\n"
          "    import reference.losses\n    seen['r1'] = honest(1)\n"
          "    try:\n        student(1)\n        seen['r2'] = 'read'\n"
          "    except PermissionError:\n        seen['r2'] = 'blocked'\n"
          "finally:\n    __nncourse_guard__.lock()\n").format(tok=tok)
cell(hidden, "hidden")
out["hidden_honest"] = ns["seen"].get("r1")
out["hidden_student_read"] = ns["seen"].get("r2")
out["hidden_names_removed"] = "reference" not in ns and "reference" not in sys.modules
out["replay_token"] = attempt(hidden, "hidden2")
print(json.dumps(out))
'''


def test_guard_blocks_the_bundle_outside_hidden_tests(tmp_path):
    bundle = sandbox.make_bundle(Course.load(ROOT))
    kdir = tmp_path / "k"
    kdir.mkdir()
    code = GUARD_SCRIPT.format(root=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", code, str(bundle), str(kdir)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    import json
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["import_locked"] == out["open_locked"] == "blocked", out
    assert out["numpy_ok"] == out["own_file_ok"] == out["config_ok"] == "ok", out
    assert out["hidden_honest"] == 2 and out["hidden_student_read"] == "blocked", out
    assert out["hidden_names_removed"] is True, out
    assert out["replay_token"] == "blocked", out          # a token works once
    assert out["tokens_file"] == "blocked", out           # no forging a token's hash
    records = [json.loads(line) for line in
               (kdir / "guard-violations.jsonl").read_text().splitlines()]
    assert [r["kind"] for r in records] == ["import", "open", "open", "open", "unlock"], records


@pytest.fixture(scope="module")
def cheat_course(tmp_path_factory):
    course = Course.load(copy_course(ROOT, tmp_path_factory.mktemp("cheat") / "course"))
    ensure_built(course, ["a1_loss"])
    name = release_notebook(course, "a1_loss").name
    for student in ["good_1", *CHEATS]:
        nb = reference_submission(course, "a1_loss")
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if gid in CHEATS.get(student, {}):
                cell.source = CHEATS[student][gid]
        dest = course.submitted_dir(student, "a1_loss")
        dest.mkdir(parents=True)
        nbformat.write(nb, dest / name)
    return course


@pytest.mark.slow
@needs_bwrap
def test_reading_or_importing_the_reference_scores_zero_and_is_flagged(cheat_course):
    import json
    from nncourse.report import FLAGGED_TITLE
    from nncourse.worker import result_path
    proc = grade_cli(cheat_course)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert re.search(r"good_1\s+7/11", proc.stdout), proc.stdout
    for student in CHEATS:
        assert re.search(rf"{student}\s+5/11", proc.stdout), proc.stdout
        assert f"FLAGGED {student}/a1_loss" in proc.stdout, proc.stdout
    assert "FLAGGED good_1" not in proc.stdout

    def result(student):
        return json.loads(result_path(cheat_course, "a1_loss", student).read_text("utf-8"))
    assert result("good_1")["flags"] == []
    flags = {s: {(f["cell"], f["kind"]) for f in result(s)["flags"]} for s in CHEATS}
    assert ("sum_squared_error", "import") in flags["importer"], flags
    assert flags["reader"] == {("test_sum_squared_error", "open")}, flags   # the hidden check only
    assert ("test_cross_entropy_error", "import") in flags["snooper"], flags
    scores = {c["grade_id"]: c["score"] for c in result("reader")["cells"]}
    assert scores["test_sum_squared_error"] == 0 and scores["test_cross_entropy_error"] == 2
    report = (cheat_course.root / "reports" / "a1_loss" / "report.html").read_text("utf-8")
    assert FLAGGED_TITLE in report and "reader" in report.split(FLAGGED_TITLE, 1)[1]


def test_kernel_caps_printed_output_per_cell(monkeypatch):
    """A huge print is cut inside the kernel (once per cell, with a note); the next cell prints."""
    from jupyter_client.manager import KernelManager

    class BootKM(KernelManager):
        def format_kernel_cmd(self, extra_arguments=None):
            return [sys.executable, str(Path(sandbox.__file__).with_name("kernel_boot.py")),
                    "-f", self.connection_file]

    monkeypatch.setenv("NNCOURSE_MAX_OUTPUT_CHARS", "1000")
    km = BootKM()
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        out = []
        hook = lambda m: out.append(m["content"].get("text", ""))  # noqa: E731
        kc.execute_interactive("for _ in range(50): print('x' * 1000)", timeout=60, output_hook=hook)
        kc.execute_interactive("print('y' * 10)", timeout=60, output_hook=hook)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    text = "".join(out)
    assert text.count("x") == 1000 and text.count("y") == 10
    assert text.count("省略") == 1
