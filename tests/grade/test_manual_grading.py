"""Manual grading (手動採点) end to end: formgrader, the gradebook, regrades and feedback.

- the toy course (its written answer ``answer_why``): a manual score and comment saved in
  the gradebook as formgrader saves them survive ``grade``, ``grade --force``, ``build``,
  ``collect``, an unchanged resubmission, and are flagged again (``manual_changed``) only when
  the answer's text changed; the feedback follows (``grade`` and ``nncourse feedback``);
  ``nncourse formgrader`` serves /formgrader on 127.0.0.1 behind a token (fast).
- the real course's a1_loss in the real formgrader in headless Chromium (Debian's
  ``chromium`` + ``chromium-driver``, selenium): a score and a comment typed into the page,
  then ``nncourse grade`` -> gradebook, grades.csv, report, feedback; ``grade --force``;
  stock ``nbgrader generate_feedback``; MathJax typesets offline; a screenshot.
"""
import csv
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from conftest import set_manual
from nncourse import manual
from nncourse.build import build
from nncourse.cohort import reference_submission
from nncourse.api import collect
from nncourse.core.course import Course, copy_course
from nncourse.feedback.mathjax import mathjax_js
from nncourse.feedback.preprocessors import FeedbackSummary, summary_row
from nncourse.grade.run import grade, load_result

ROOT = Path(__file__).resolve().parents[2]
TOY = Path(__file__).resolve().parents[1] / "fixtures" / "toy_course"
BIN = Path(sys.executable).parent
NNCOURSE = [sys.executable, "-m", "nncourse.cli"]
BROWSER_WINDOW = (1280, 1600)    # conftest.py's `browser`: a window tall enough for formgrader
COMMENT = "理由がよく書けています。$\\frac{1}{2}$ の意味にも触れるとさらに良いです。"


def gradebook_grade(course, aid, notebook, student, gid):
    from nbgrader.api import Gradebook
    with Gradebook(course.db_url, course.course_id) as gb:
        g = gb.find_grade(gid, notebook, aid, student)
        c = gb.find_comment(gid, notebook, aid, student)
        return g.manual_score, bool(g.needs_manual_grade), c.manual_comment


def edit_answer(path, gid, text):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == gid:
            cell.source = text(cell.source)
    nbformat.write(nb, path)


# --- units ---------------------------------------------------------------------------------

def test_answer_digest_ignores_line_ends_and_trailing_spaces_only():
    def nb(text):
        cell = nbformat.v4.new_markdown_cell(text, metadata={"nbgrader": {
            "grade": True, "solution": True, "grade_id": "w", "points": 2}})
        code = nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {
            "grade": False, "solution": True, "grade_id": "c"}})
        test = nbformat.v4.new_code_cell("assert x", metadata={"nbgrader": {
            "grade": True, "solution": False, "grade_id": "t", "points": 1}})
        return nbformat.v4.new_notebook(cells=[code, cell, test])
    a = manual.answer_digests(nb("答え  \r\nです。\n"), "n")
    assert a == manual.answer_digests(nb("答え\nです。"), "n")
    assert a["n/w"] != manual.answer_digests(nb("答えです。"), "n")["n/w"]
    assert set(a) == {"n/w", "n/t"}      # the test cell's text is the notebook's answers


def test_summary_rows_say_graded_or_pending_and_show_the_teachers_comment():
    def cell(**meta):
        m = {"grade": True, "solution": True, "grade_id": "w", "points": 2.0, **meta}
        return nbformat.v4.new_markdown_cell("answer", metadata={"nbgrader": m})
    kind, score, msg = summary_row(cell(score=None, needs_manual_grade=True))
    assert (kind, score) == ("pending", "– / 2") and "採点待ち" in msg
    kind, score, msg = summary_row(cell(score=1.5, needs_manual_grade=False, comment="良い",
                                        teacher_comment=True, manual_score=1.5))
    assert (kind, score) == ("ng", "1.5 / 2") and msg == "採点済み (手動採点)。先生のコメント: 良い"
    assert "先生のコメント" not in summary_row(cell(score=2, needs_manual_grade=False,
                                               comment="解答がありません", teacher_comment=False))[2]
    nb = nbformat.v4.new_notebook(cells=[cell(score=0.0, needs_manual_grade=False,
                                              points=2.0, grade_id="long")])
    nb.cells[0].metadata["nncourse"] = {}
    out, _ = FeedbackSummary().preprocess(nb, {"nbgrader": {"score": 0, "max_score": 2}})
    table = out.cells[0].source
    # the score column never wraps (its own class, nowrap in the template); text has spaces
    assert "<td class='score'>0 / 2</td> <td class='msg'>" in table


def test_mathjax_is_shipped_and_safe_inside_a_script_element():
    js = mathjax_js()
    assert len(js) > 1_000_000 and "MathJax" in js
    assert "</script" not in js.lower() and "<!--" not in js and "<script" not in js.lower()


# --- the toy course: the state machine of a manual grade ---------------------------------

@pytest.fixture
def toy(tmp_path):
    course = Course.load(copy_course(TOY, tmp_path / "course"))
    build(course, ["t1_square"])
    dest = course.submitted_dir("u1", "t1_square")
    dest.mkdir(parents=True)
    nbformat.write(reference_submission(course, "t1_square"), dest / "square.ipynb")
    return course


def toy_result(course):
    return load_result(course, "t1_square", "u1")


def toy_feedback(course):
    return (course.feedback_dir("u1", "t1_square") / "square.html").read_text("utf-8")


@pytest.mark.slow          # seven toy gradings: about a minute
def test_manual_grade_survives_every_command_and_is_reflagged_only_when_the_answer_changed(toy):
    course = toy
    run = grade(course, ["t1_square"], progress=False)
    assert run.pending_manual == {("u1", "t1_square"): ["answer_why"]}
    assert toy_result(course)["pending_manual"] == ["answer_why"]
    assert "採点待ち" in toy_feedback(course)

    set_manual(course, "t1_square", "square", "u1", "answer_why", 0.5, "もう少し詳しく。")
    run = grade(course, ["t1_square"], progress=False)       # unchanged: skipped, feedback rebuilt
    assert run.skipped == [("u1", "t1_square")] and run.feedback_rebuilt == [("u1", "t1_square")]
    assert run.pending_manual == {}
    page = toy_feedback(course)
    assert "0.5 / 1" in page and "採点済み (手動採点)。先生のコメント: もう少し詳しく。" in page
    assert "先生が採点します" not in page
    rec = toy_result(course)
    assert rec["pending_manual"] == [] and rec["score"] == 5.5
    assert next(c for c in rec["cells"] if c["grade_id"] == "answer_why")["score"] == 0.5

    run = grade(course, ["t1_square"], force=True, progress=False)
    assert gradebook_grade(course, "t1_square", "square", "u1", "answer_why") == \
        (0.5, False, "もう少し詳しく。")
    assert run.pending_manual == {} and not run.manual_changed
    assert toy_result(course)["pending_manual"] == [] and toy_result(course)["manual_changed"] == []
    with open(run.report.csv, encoding="utf-8") as f:
        row = next(r for r in csv.DictReader(f) if r["student_id"] == "u1")
    assert float(row["score"]) == 5.5

    # build and collect do not touch the gradebook's manual grades
    build(course, ["t1_square"])
    again = course.root / "again" / "u1"
    again.mkdir(parents=True)
    shutil.copy(course.submitted_dir("u1", "t1_square") / "square.ipynb", again)
    collect(course, "t1_square", course.root / "again")
    # a resubmission whose written answer only gained a trailing newline, with other code changed
    path = course.submitted_dir("u1", "t1_square") / "square.ipynb"
    edit_answer(path, "answer_why", lambda s: s + "\n")
    nb = nbformat.read(path, as_version=4)
    next(c for c in nb.cells if c.cell_type == "code"
         and c.metadata.get("nbgrader", {}).get("solution")).source += "\n# 見直しました"
    nbformat.write(nb, path)
    run = grade(course, ["t1_square"], progress=False)
    assert [r["student"] for r in run.results] == ["u1"]          # regraded
    assert gradebook_grade(course, "t1_square", "square", "u1", "answer_why")[:2] == (0.5, False)
    assert not run.manual_changed and run.pending_manual == {}

    # the answer itself changed: flagged again, said so, the score and comment still there
    edit_answer(path, "answer_why", lambda s: "負の数を 2 乗しても正になるから。")
    run = grade(course, ["t1_square"], progress=False)
    assert gradebook_grade(course, "t1_square", "square", "u1", "answer_why") == \
        (0.5, True, "もう少し詳しく。")
    assert run.manual_changed == [("u1", "t1_square", ["answer_why"])]
    rec = toy_result(course)
    assert rec["manual_changed"] == ["answer_why"] and rec["pending_manual"] == ["answer_why"]
    assert "採点待ち" in toy_feedback(course)
    out = subprocess.run(NNCOURSE + ["grade", "t1_square", "--no-progress"], cwd=course.root,
                         capture_output=True, text=True)
    assert "u1: answer_why (answer changed since graded)" in out.stdout, out.stdout
    assert "MANUAL GRADE FLAGGED AGAIN" not in out.stdout   # skipped: not regraded this time

    # the teacher grades it again; `nncourse feedback` only rebuilds the feedback
    set_manual(course, "t1_square", "square", "u1", "answer_why", 1.0, "良くなりました。")
    before = course.autograded_dir("u1", "t1_square").stat().st_mtime_ns
    out = subprocess.run(NNCOURSE + ["feedback", "t1_square"], cwd=course.root,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "feedback rebuilt for 1 graded submission(s)" in out.stdout
    assert "pending manual grading): none" in out.stdout
    assert course.autograded_dir("u1", "t1_square").stat().st_mtime_ns == before
    page = toy_feedback(course)
    assert "1 / 1" in page and "先生のコメント: 良くなりました。" in page
    rec = toy_result(course)
    assert rec["pending_manual"] == [] and rec["manual_changed"] == [] and rec["score"] == 6.0
    run = grade(course, ["t1_square"], force=True, progress=False)   # confirmed for the new text
    assert gradebook_grade(course, "t1_square", "square", "u1", "answer_why")[:2] == (1.0, False)
    assert not run.manual_changed


def read_url(proc, timeout=120):
    """The /formgrader URL that ``nncourse formgrader`` prints."""
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout],
                     daemon=True).start()
    deadline, seen = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            if proc.poll() is not None:
                break
            continue
        seen += line
        m = re.search(r"(http://127\.0\.0\.1:\d+/formgrader\?token=\S+)", line)
        if m:
            return m.group(1)
    raise AssertionError(f"no URL printed:\n{seen}")


@pytest.mark.slow     # ~8 s: a Jupyter server start
def test_formgrader_command_serves_formgrader_on_localhost_behind_a_token(toy):
    proc = subprocess.Popen(NNCOURSE + ["formgrader"], cwd=toy.root, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        url = read_url(proc)
        base, token = url.split("/formgrader?token=")
        assert token and len(token) >= 32 and token not in " ".join(proc.args)
        with urllib.request.urlopen(url, timeout=30) as r:
            assert r.status == 200 and "formgrader" in r.read().decode().lower()
        req = urllib.request.Request(f"{base}/formgrader/api/assignments",
                                     headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            assert "t1_square" in [a["name"] for a in json.loads(r.read())]
        with urllib.request.urlopen(f"{base}/formgrader/api/assignments", timeout=30) as r:
            assert "/login" in r.url                 # no token: the login page, no data
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(30)
    # SIGTERM to nncourse stopped the server too (it runs in a session of its own)
    port = int(base.rsplit(":", 1)[1])
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=5)


# --- the real course in the real formgrader, in Chromium -----------------------------------

def wait_for(fn, timeout=30, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_formgrader_in_chromium_to_feedback_report_and_stock_nbgrader(tmp_path, browser):
    from selenium.webdriver.common.by import By
    from nncourse.formgrader import Formgrader
    from nbgrader.api import Gradebook
    aid, nb_name, student, gid = "a1_loss", "loss_functions", "s01", "why_loss"
    course = Course.load(copy_course(ROOT, tmp_path / "course"))
    build(course, [aid])
    dest = course.submitted_dir(student, aid)
    dest.mkdir(parents=True)
    nbformat.write(reference_submission(course, aid), dest / f"{nb_name}.ipynb")
    run = grade(course, [aid], progress=False)
    assert not run.not_graded, [r.get("error") for r in run.not_graded]
    auto = run.results[0]["score"]
    pending = run.pending_manual[(student, aid)]
    assert gid in pending
    with Gradebook(course.db_url, course.course_id) as gb:
        nb_id = gb.find_submission_notebook(nb_name, aid, student).id
        max_points = gb.find_grade(gid, nb_name, aid, student).max_score

    # the teacher: /formgrader, the submission, a score and a comment for the written answer
    with open(tmp_path / "server.log", "w") as log, Formgrader(course, log=log) as fg:
        browser.get(fg.url)
        wait_for(lambda: "formgrader" in browser.page_source.lower(), what="/formgrader")
        browser.get(f"{fg.base}/formgrader/submissions/{nb_id}")
        box = wait_for(lambda: browser.find_elements(By.ID, gid), what="the score box")[0]
        wait_for(lambda: browser.execute_script(
            "return window.formgrader && formgrader.grades && formgrader.grades.loaded"
            " && formgrader.comments && formgrader.comments.loaded"), what="formgrader's grades")
        # offline: formgrader's page gets MathJax 2 from this server (no CDN), so its script
        # runs to the end (it stops at MathJax.Hub without it)
        wait_for(lambda: browser.execute_script("return formgrader.loaded === true"),
                 what="formgrader's script to finish")
        assert "/static/jupyter_server_mathjax/MathJax.js" in browser.page_source
        assert "cdnjs" not in browser.page_source
        blur = "arguments[0].blur()"            # leaving a box fires its change event: saved
        box.clear()
        box.send_keys("1.5")
        browser.execute_script(blur, box)
        comment = browser.find_element(By.ID, f"{gid}-comment")
        comment.send_keys(COMMENT)
        browser.execute_script(blur, comment)
        wait_for(lambda: gradebook_grade(course, aid, nb_name, student, gid) ==
                 (1.5, False, COMMENT), what="formgrader to save the grade")
        browser.save_screenshot(str(tmp_path / "formgrader.png"))

    run = grade(course, [aid], progress=False)
    assert run.feedback_rebuilt == [(student, aid)]
    assert gid not in run.pending_manual.get((student, aid), [])
    with open(run.report.csv, encoding="utf-8") as f:
        row = next(r for r in csv.DictReader(f) if r["student_id"] == student)
    assert float(row["score"]) == auto + 1.5
    report = run.report.html.read_text("utf-8")
    assert f"{auto + 1.5:g}" in report
    graded = report.split("採点済みの記述問題 (Manual grades given)</caption>")[1].split("</table>")[0]
    assert (f"<td class='l'>{gid}</td><td>1.5 / {max_points:g}</td>"
            f"<td class='l msg'>{COMMENT}</td>") in graded
    page = course.feedback_dir(student, aid) / f"{nb_name}.html"
    text = page.read_text("utf-8")
    assert f"1.5 / {max_points:g}" in text and "先生のコメント" in text
    assert "採点済み (手動採点)。先生のコメント: 理由がよく書けています。" in text
    # MathJax from the course's one shared copy (no CDN), not a copy in every page
    assert "cdnjs" not in text and mathjax_js() not in text
    assert re.search(r'<script [^>]*src="\.\./\.\./_mathjax/tex-svg\.js"', text)
    assert (course.feedback_root / "_mathjax" / "tex-svg.js").is_file()

    run = grade(course, [aid], force=True, progress=False)
    assert gradebook_grade(course, aid, nb_name, student, gid) == (1.5, False, COMMENT)
    assert not run.manual_changed and gid not in run.pending_manual.get((student, aid), [])

    # formgrader's "Generate Feedback" = stock nbgrader generate_feedback in the course dir
    page.unlink()
    proc = subprocess.run([str(BIN / "nbgrader"), "generate_feedback", aid, "--force"],
                          cwd=course.root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    stock = page.read_text("utf-8")
    # ".check_": a hidden check call (``a1_loss.check_sum_squared_error(...)``); the notebook's
    # own summary cell is named a1_check_summary
    for secret in ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "from autograders", ".check_"):
        assert secret not in stock, secret
    assert "採点結果の概要" in stock and "先生のコメント: 理由がよく書けています。" in stock
    assert "cdnjs" not in stock and '../../_mathjax/tex-svg.js"' in stock

    # the page as a student opens it, offline: math typeset, score column on one line
    browser.get(page.as_uri())
    wait_for(lambda: browser.execute_script(
        "return document.querySelectorAll('mjx-container').length") > 0, what="MathJax")
    heights = browser.execute_script(
        "return [...document.querySelectorAll('table.nncourse-summary td.score')]"
        ".map(td => [td.innerText, td.getBoundingClientRect().height,"
        " parseFloat(getComputedStyle(td).lineHeight) || 20])")
    assert heights and all(h < 2.2 * lh for _, h, lh in heights), heights
    browser.save_screenshot(str(tmp_path / "feedback.png"))
    assert (tmp_path / "feedback.png").stat().st_size > 20_000
    keep = os.environ.get("NNCOURSE_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for name in ("feedback.png", "formgrader.png"):
            shutil.copy(tmp_path / name, Path(keep) / name)
