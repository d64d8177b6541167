"""Shared fixtures and helpers of every test folder: the course's assignments, a throw-away
copy of the course directory, a teacher's manual grade (``set_manual``), a headless Chromium
(``browser``) and the real course's graded demo cohort (``demo_cohort``)."""
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from nncourse.core.course import Course, copy_course as copy_course_files

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
COURSE_FILES = ["course_config.py", "nbgrader_config.py", "source", "autograders", "reference"]


def assignments():
    """(assignment id, source notebook path) for every assignment present in source/."""
    import course_config
    out = []
    for aid in course_config.ASSIGNMENTS:
        for nb in sorted((ROOT / "source" / aid).glob("*.ipynb")):
            out.append((aid, nb))
    return out


def copy_course(dest):
    """Copy the course into ``dest``.  Symlinks stay, as in the course (and in
    ``nncourse.core.course.copy_course``): a source's symlink into reference/ (every
    assignment's check_summary.py, a4's mnist.py) is what tells ``build`` the module is
    shipped on purpose; a resolved copy would be refused as a leak."""
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
    for name in COURSE_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy(src, dest / name)
    return dest


def nbgrader(course, *args, check=True):
    """Run a stock nbgrader command in ``course`` (it reads the course's nbgrader_config.py)."""
    env = dict(os.environ, PATH=os.pathsep.join([str(BIN), os.environ.get("PATH", "")]))
    proc = subprocess.run([str(BIN / "nbgrader"), *args], cwd=course, capture_output=True,
                          text=True, env=env)      # nbgrader runs `alembic` from this venv
    if check and proc.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def configured_copy(src, dest, settings=""):
    """A copy of the course at ``src`` in ``dest`` (``nncourse.core.course.copy_course``) with
    ``settings`` (lines of course_config.py, e.g. smaller timeouts) appended, loaded."""
    root = copy_course_files(src, dest)
    if settings:
        with open(root / "course_config.py", "a", encoding="utf-8") as f:
            f.write("\n" + settings + "\n")
    return Course.load(root)


def set_manual(course, aid, notebook, student, gid, score, comment=None):
    """What formgrader's API does when the teacher types a score / a comment."""
    with Gradebook(course.db_url, course.course_id) as gb:
        g = gb.find_grade(gid, notebook, aid, student)
        g.manual_score = score
        g.needs_manual_grade = g.manual_score is None and g.auto_score is None
        if comment is not None:
            gb.find_comment(gid, notebook, aid, student).manual_comment = comment
        gb.db.commit()


@pytest.fixture
def course_copy(tmp_path):
    return copy_course(tmp_path / "course")


# --- test processes (pytest-xdist, ``--dist loadgroup``: scripts/dev.py test) -----------------
TESTS = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)      # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    """One ``xdist_group`` per test module, so that a test process computes each module
    fixture (a graded catalogue, a graded attack cohort) once; modules that share a session
    fixture of ours (the demo cohort, the non-root account's set-up in its home, the
    PostgreSQL server) in one group, so that it is made once and by one process."""
    parent = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def module(item):
        return item.nodeid.split("::", 1)[0]

    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        for name, defs in (info.name2fixturedefs.items() if info else ()):
            ours = [d for d in defs if d.scope == "session"
                    and TESTS in Path(d.func.__code__.co_filename).resolve().parents]
            if ours:
                a, b = find(module(item)), find("session:" + name)
                parent[max(a, b)] = min(a, b)      # "session:..." names the merged group
    group = {id(item): find(module(item)) for item in items}
    for item in items:
        item.add_marker(pytest.mark.xdist_group(group[id(item)]))
    # in the test processes xdist sets ``loadgroup`` (and ``dist`` to "no"); their collection
    # order is the order the groups are handed out in: the longest groups start first
    if getattr(config.option, "loadgroup", False) or config.getoption("dist", "no") == "loadgroup":
        size = Counter(group.values())
        rank = {g: (LONG_FIRST.index(g) if g in LONG_FIRST else len(LONG_FIRST), -n)
                for g, n in size.items()}
        items.sort(key=lambda item: rank[group[id(item)]])     # stable: a group's order kept


# the groups that the last full runs found longest (set-up minutes each: a graded catalogue,
# the non-root account's own venv, the demo cohort, the attack cohorts), started first so that
# none is left for the end (``--no-loadscope-reorder``); the others follow, larger first
LONG_FIRST = ("tests/checks/test_catalogue.py", "session:nonroot_course", "session:demo_cohort",
              "tests/attacks/test_attacks.py", "tests/grade/test_bad_submissions.py")


# --- headless Chromium (Debian's chromium + chromium-driver, driven by selenium) -----------------
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync")


@pytest.fixture(scope="module")
def browser(request):
    """A headless Chromium, one per test module (no cookies or pages shared across modules).

    Skipped when Debian's chromium/chromium-driver or selenium are missing, except under CI
    (``scripts/dev.py setup`` installs them there): then it fails.  The window is 1280x1000
    unless the module sets ``BROWSER_WINDOW = (width, height)``.
    """
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("CI"):
            pytest.fail("chromium/chromium-driver missing: scripts/dev.py setup installs them")
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    if os.environ.get("CI"):
        from selenium import webdriver
    else:
        webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service
    width, height = getattr(request.module, "BROWSER_WINDOW", (1280, 1000))
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="nncourse-chromium-")
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})   # the console: get_log
    driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(90)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


# --- the real course's demo cohort, built and graded once per test session -----------------------
@pytest.fixture(scope="session")
def demo_cohort(tmp_path_factory):
    """``nncourse demo`` on a copy of the real course: (the graded demo Course, its GradeRun).

    Shared by every test of the session (building and grading it takes minutes): READ ONLY.
    A test that changes anything (regrades, edits a submission, sets a manual grade, ...)
    works on its own copy instead: ``shutil.copytree(course.root, tmp_path / "demo",
    symlinks=True)`` (the gradebook is ``<root>/gradebook.db``: the copy is independent).
    """
    from nncourse.demo import demo
    base = tmp_path_factory.mktemp("demo-cohort")
    course = Course.load(copy_course_files(ROOT, base / "course"))
    run = demo(course, base / "demo", jobs=2, progress=False)
    return Course.load(base / "demo"), run


# a throw-away PostgreSQL server and fresh databases for the gradebook tests (tests/postgres.py),
# and the non-root account's set-up copy (tests/nonroot.py): registered here, once, so that
# each is made once per session (imported into two test modules, a session fixture is two
# fixtures: the account's whole set-up ran twice)
from postgres import postgres_server, postgres_url  # noqa: E402,F401
from nonroot import nonroot_course, nonroot_setup  # noqa: E402,F401

