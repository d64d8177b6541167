"""MathJax of the feedback pages (issue #20): one shared copy per course, self-contained pages
wherever a page leaves the feedback folder (``nncourse/feedback/mathjax.py``).

Through the real pipeline on the toy course (Canvas download collected with a roster,
``nncourse.api.grade``, ``export``, ``feedback``, stock ``nbgrader generate_feedback``): pages
written by grading load ``feedback/_mathjax/tex-svg.js`` (one file, the installed package's)
and do not carry MathJax; the Moodle and Canvas feedback zips carry it inlined; and in
headless Chromium, offline, MathJax typesets (a) a page in place and (b) an exported page
alone in an empty folder, while (c) a page copied alone without the shared file shows the
LaTeX source, all its text and a note, with no script error.  A ``submitted/_mathjax``
folder is refused (never a student).  The LTI route's page: ``tests/lti/test_lti.py``.
"""
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from nncourse import api
from nncourse.build import build
from nncourse.cohort import reference_submission
from nncourse.core.course import SHARED_FEEDBACK_DIR, Course, copy_course
from nncourse.feedback.mathjax import mathjax_file, mathjax_js, self_contained
from nncourse.lms.roster import STUDENT_ID

pytestmark = pytest.mark.slow      # one toy grading of three folders, Chromium: about a minute

TOY = Path(__file__).resolve().parents[1] / "fixtures" / "toy_course"
BIN = Path(sys.executable).parent
AID, NB = "t1_square", "square"
MATH = r"損失は $E = \frac{1}{2}\sum_k (y_k - t_k)^2$ と書けます。"
TEX = r"\frac{1}{2}\sum_k"
STUDENTS = {"s001": ("yamadataro", "1111", "5001", "9001"),      # canvas name, user, attachment,
            "s002": ("satohanako", "2222", "5002", "9002")}      # Moodle participant
# the toy course leaves stock nbgrader's feedback as it is; the course's own course_config.py
# puts nncourse's pipeline into it like this
STOCK_FEEDBACK = """
_toy_configure = configure_nbgrader


def configure_nbgrader(c):
    from nncourse.feedback import configure_feedback
    return configure_feedback(_toy_configure(c))
"""
SHARED_SRC = f'src="../../{SHARED_FEEDBACK_DIR}/tex-svg.js"'


def wait_for(check, what, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The toy course: two students' submissions (with a written formula) collected from a
    Canvas download with a roster, and a hand-made submitted/_mathjax folder; graded."""
    tmp = tmp_path_factory.mktemp("mathjax")
    course = Course.load(copy_course(TOY, tmp / "course"))
    with open(course.root / "course_config.py", "a", encoding="utf-8") as f:
        f.write(f"\nLMS_ASSIGNMENTS = {{{AID!r}: {{'canvas_id': 777}}}}\n")
    course = Course.load(course.root)
    build(course, [AID])
    nb = reference_submission(course, AID)
    nb.cells.append(nbformat.v4.new_markdown_cell(MATH))
    text = nbformat.writes(nb)
    download = tmp / "submissions.zip"
    with zipfile.ZipFile(download, "w") as z:
        for name, user, attachment, _ in STUDENTS.values():
            z.writestr(f"{name}_{user}_{attachment}_{NB}.ipynb", text)
    roster = tmp / "roster.csv"
    roster.write_text("student_id,name,canvas_user_id,moodle_participant_id\n" + "".join(
        f"{sid},{name},{user},{pid}\n" for sid, (name, user, _, pid) in STUDENTS.items()),
        encoding="utf-8")
    res = api.collect(course, AID, download, roster=roster)
    assert sorted(d.parent.parent.name for _, d in res.placed) == sorted(STUDENTS)
    hand = course.submitted_dir(SHARED_FEEDBACK_DIR, AID)      # made by hand, not by collect
    hand.mkdir(parents=True)
    nbformat.write(nb, hand / f"{NB}.ipynb")
    run = api.grade(course, [AID], progress=False)
    assert not run.not_graded, [r.get("error") for r in run.not_graded]
    return course, run, roster


def shared(course):
    return course.feedback_root / SHARED_FEEDBACK_DIR / "tex-svg.js"


def page(course, student="s001"):
    return course.feedback_dir(student, AID) / f"{NB}.html"


def test_graded_pages_load_one_shared_mathjax_and_carry_none(graded):
    course, run, _ = graded
    js = mathjax_js()
    assert len(js) > 1_000_000
    sample = js[len(js) // 2: len(js) // 2 + 200]       # a piece of MathJax's own code
    for sid in STUDENTS:
        text = page(course, sid).read_text("utf-8")
        assert TEX in text and "採点結果の概要" in text
        assert SHARED_SRC in text and 'data-nncourse-mathjax="shared"' in text
        assert sample not in text and "MathJax.startup" not in text
        assert "window.MathJax = {" in text and "html: false, action: false" in text  # config
        assert page(course, sid).stat().st_size < 300_000 < 1_000_000 < len(js)
    assert [p.relative_to(course.root).as_posix() for p in course.root.rglob("tex-svg.js")] \
        == [f"feedback/{SHARED_FEEDBACK_DIR}/tex-svg.js"]
    assert shared(course).read_bytes() == mathjax_file().read_bytes()
    # feedback/_mathjax is no student's: a hand-made submitted/_mathjax is refused, loudly
    assert not STUDENT_ID.match(SHARED_FEEDBACK_DIR)
    assert SHARED_FEEDBACK_DIR not in course.students([AID])
    assert run.unnamed == [(SHARED_FEEDBACK_DIR, AID)] and run.exit_status != 0
    assert any(w.startswith(f"NOT GRADED submitted/{SHARED_FEEDBACK_DIR}/{AID}: ")
               and "never a student id" in w for w in run.warnings)
    assert sorted(p.name for p in (course.feedback_root / SHARED_FEEDBACK_DIR).iterdir()) \
        == ["tex-svg.js"]


def test_shared_file_is_written_once_and_mended_when_different(graded):
    course, _, _ = graded
    before = shared(course).stat()
    api.feedback(course, [AID])                         # every page again
    after = shared(course).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    shared(course).write_text("// damaged")            # a different file is replaced
    api.feedback(course, [AID])
    assert shared(course).read_bytes() == mathjax_file().read_bytes()
    shutil.rmtree(shared(course).parent)                # a missing one is written again
    api.feedback(course, [AID])
    assert shared(course).read_bytes() == mathjax_file().read_bytes()
    assert SHARED_SRC in page(course).read_text("utf-8")


def test_stock_nbgrader_generate_feedback_writes_the_shared_file_too(graded, tmp_path):
    course, _, _ = graded
    root = shutil.copytree(course.root, tmp_path / "course", symlinks=True)
    with open(root / "course_config.py", "a", encoding="utf-8") as f:
        f.write(STOCK_FEEDBACK)
    work = Course.load(root)
    shutil.rmtree(work.feedback_root)
    env = dict(os.environ, PATH=os.pathsep.join([str(BIN), os.environ.get("PATH", "")]))
    proc = subprocess.run([str(BIN / "nbgrader"), "generate_feedback", AID, "--force"],
                          cwd=work.root, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for sid in STUDENTS:
        text = page(work, sid).read_text("utf-8")
        assert SHARED_SRC in text and "採点結果の概要" in text and mathjax_js()[:2000] not in text
    assert shared(work).read_bytes() == mathjax_file().read_bytes()


def exported_pages(course, roster, fmt):
    res = api.export(course, AID, fmt, roster=roster)
    zips = [f for f in res.files if f.suffix == ".zip"]
    assert len(zips) == 1, res.files
    with zipfile.ZipFile(zips[0]) as z:
        return {name: z.read(name).decode("utf-8") for name in z.namelist()}


def test_exported_moodle_and_canvas_pages_have_mathjax_inlined(graded):
    course, _, roster = graded
    js = mathjax_js()
    moodle = exported_pages(course, roster, "moodle")
    canvas = exported_pages(course, roster, "canvas")
    assert sorted(moodle) == sorted(f"{name}_{pid}_assignfeedback_file_/{NB}.html"
                                    for name, _, _, pid in STUDENTS.values())
    assert len(canvas) == 2
    for sid in STUDENTS:
        own = page(course, sid).read_text("utf-8")
        name, _, _, pid = STUDENTS[sid]
        for text in (moodle[f"{name}_{pid}_assignfeedback_file_/{NB}.html"],
                     next(t for n, t in canvas.items() if n.startswith(f"{name}_"))):
            assert text == self_contained(own) and text != own
            assert f"<script>{js}</script>" in text          # escaped as mathjax_js() has it
            assert "data-nncourse-mathjax" not in text and "tex-svg.js\"" not in text
            assert "window.MathJax = {" in text and "html: false, action: false" in text
            assert TEX in text and "採点結果の概要" in text
            head = text.split("<body", 1)[0]
            assert head.index("window.MathJax = {") < head.index(js[:200])  # config first


def test_self_contained_leaves_a_page_without_the_shared_script_alone(graded):
    course, _, _ = graded
    text = self_contained(page(course).read_text("utf-8"))
    assert self_contained(text) == text                 # inlined once, not twice
    failure = "<!DOCTYPE html><html><head></head><body><p>採点できませんでした</p></body></html>"
    assert self_contained(failure) == failure
    # the student's own text never decides: a tag in the body is not the head's element
    body = ('<html><head></head><body><pre>&lt;script src="x" '
            'data-nncourse-mathjax="shared"&gt;</pre></body></html>')
    assert self_contained(body) == body


def typeset(browser):
    return browser.execute_script("return document.querySelectorAll('mjx-container').length")


def console_errors(browser):
    return [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]


def test_pages_in_chromium_in_place_exported_alone_and_copied_without_mathjax(
        graded, browser, tmp_path):
    course, _, roster = graded
    keep = os.environ.get("NNCOURSE_SCREENSHOTS")

    def shot(name):          # the page's end: the formula is the notebook's last cell
        browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
        time.sleep(0.3)
        path = tmp_path / name
        browser.save_screenshot(str(path))
        assert path.stat().st_size > 20_000
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(keep) / name)

    # (a) in place: the shared file next door, MathJax typesets the formula
    browser.get(page(course).as_uri())
    wait_for(lambda: typeset(browser) > 0, what="MathJax in place")
    assert TEX not in browser.find_element("tag name", "body").text
    assert not browser.execute_script(
        "return document.documentElement.classList.contains('nncourse-no-mathjax')")
    shot("feedback-in-place.png")

    # (b) an exported page alone in an empty folder: MathJax inlined, typesets offline
    alone = tmp_path / "exported"
    alone.mkdir()
    text = next(iter(exported_pages(course, roster, "moodle").values()))
    (alone / f"{NB}.html").write_text(text, encoding="utf-8")
    assert os.listdir(alone) == [f"{NB}.html"]
    browser.get((alone / f"{NB}.html").as_uri())
    wait_for(lambda: typeset(browser) > 0, what="MathJax in an exported page")
    shot("feedback-exported-alone.png")

    # (c) a graded page copied alone by hand: no shared file; text and LaTeX readable, a note
    copied = tmp_path / "copied"
    copied.mkdir()
    shutil.copy(page(course), copied / f"{NB}.html")
    browser.get((copied / f"{NB}.html").as_uri())
    wait_for(lambda: browser.execute_script(
        "return document.documentElement.classList.contains('nncourse-no-mathjax')"),
        what="the missing MathJax noticed")
    time.sleep(1.0)
    assert typeset(browser) == 0
    body = browser.find_element("tag name", "body").text
    assert TEX in body and "採点結果の概要" in body and "テストと解答ごとの点数とメッセージ" in body
    assert "数式は LaTeX の書き方のまま表示しています" in body        # the note shows
    errors = [e for e in console_errors(browser) if "tex-svg.js" not in e.get("message", "")]
    assert errors == []                 # only the missing file itself, no script error
    shot("feedback-copied-alone.png")
