"""Pages everyone can read (issue #22): axe-core's WCAG 2.1 A/AA rules in Debian's chromium.

Every page kind a student or an instructor reads, from the demo cohort (``demo_cohort``, the
real pipeline; a copy of it here, since the late page and formgrader need their own): the
feedback of a fully graded submission, of a partly right one, of one with written answers
pending manual grading, of a late one (DUE_DATES set in the copy, the feedback rebuilt), the
page of a submission that could not be graded, a graded page copied alone (without
``feedback/_mathjax/``: its note shows), the report, and formgrader's grading page
(``nncourse formgrader``'s server, nncourse's template overrides).

Each page: axe-core 4 (npm, installed by ``scripts/dev.py setup`` into ``.venv/npm``) with the
wcag2a/wcag2aa/wcag21a/wcag21aa rules finds no critical or serious violation; ``lang="ja"``;
headings start at h1 and never skip a level going down; images have alt texts that say what
they show; our tables have captions and scoped header cells; at 200 % zoom (a 640-CSS-pixel
viewport at device scale 2) and on a 360-px phone nothing makes the page scroll sideways,
and a failed check's hint line stays on screen.  Screenshots of each page at both sizes are
written to ``NNCOURSE_A11Y_SHOTS`` (default: the test's tmp folder; the path is printed).
A control page with known violations proves that axe runs and reports them.
"""
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from nncourse.core.course import Course
from nncourse.core.records import load_result
from nncourse.grade.merge import rebuild_feedback

pytestmark = pytest.mark.slow
AXE = Path(sys.prefix) / "npm" / "node_modules" / "axe-core" / "axe.min.js"   # scripts/dev.py
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING = ("critical", "serious")
ZOOM_200 = dict(width=640, height=500, deviceScaleFactor=2, mobile=False)   # 1280 px at 200 %
PHONE = dict(width=360, height=740, deviceScaleFactor=2, mobile=True)
LATE = ("a1_loss", "2026-05-08T23:59:00+09:00", "2026-05-11T10:00:00+00:00")   # due, submitted
CONTROL = ("<!DOCTYPE html><html><head><title>control</title></head><body>"
           "<p style='color:#bbb;background:#fff'>薄い文字</p><input type='text'>"
           "<img src='x.png'></body></html>")


@pytest.fixture(scope="module")
def axe_js():
    if not AXE.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{AXE} missing: scripts/dev.py setup installs axe-core with npm")
        pytest.skip("axe-core is not installed (scripts/dev.py setup installs it with npm)")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = Path(os.environ.get("NNCOURSE_A11Y_SHOTS") or tmp_path_factory.mktemp("a11y-shots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\naccessibility screenshots: {folder}")
    return folder


@pytest.fixture(scope="module")
def pages(demo_cohort, tmp_path_factory):
    """{kind: file path} of the demo cohort's pages, in a copy of the demo course; and the copy."""
    base, _ = demo_cohort
    course_dir = tmp_path_factory.mktemp("a11y") / "demo"
    shutil.copytree(base.root, course_dir, symlinks=True)
    course = Course.load(course_dir)
    results = {(r["student"], r["assignment"]): r for r in
               (load_result(course, a, s) for a in course.assignments
                for s in course.students())
               if r is not None}

    def first(want):
        return next(k for k, r in sorted(results.items()) if want(r))
    kinds = {
        "graded": first(lambda r: r["status"] == "graded" and r["score"] == r["max_score"]
                        and not r.get("pending_manual")),
        "partly": first(lambda r: r["status"] == "graded" and 0 < r["score"] < r["max_score"]
                        and any(c["score"] < c["max_score"] for c in r["cells"]
                                if not c.get("needs_manual_grade"))),
        "pending": first(lambda r: r["status"] == "graded" and r.get("pending_manual")),
        "not_graded": first(lambda r: r["status"] != "graded"),
    }
    found = {kind: course.root / results[key]["feedback"][0] for kind, key in kinds.items()}
    # a late submission: a deadline before its submission time, then its feedback rebuilt
    aid, due, submitted = LATE
    student = kinds["pending"][0] if kinds["pending"][1] == aid else "s01_reference"
    with open(course.root / "course_config.py", "a", encoding="utf-8") as f:
        f.write(f"\nDUE_DATES = {{{aid!r}: {due!r}}}   # (test) a deadline before the submission\n")
    (course.submitted_dir(student, aid) / "timestamp.txt").write_text(submitted)
    course = Course.load(course.root)
    result = rebuild_feedback(course, aid, student)
    found["late"] = course.root / result["feedback"][0]
    found["report"] = course.root / "reports" / "all" / "report.html"
    # a graded page copied out alone, without feedback/_mathjax/: the note shows, math as LaTeX
    alone = tmp_path_factory.mktemp("alone") / found["graded"].name
    shutil.copy(found["graded"], alone)
    found["alone"] = alone
    for kind, path in found.items():
        assert path.is_file(), (kind, path)
    assert "遅延提出: 提出日時" in found["late"].read_text(encoding="utf-8"), "no late note"
    return found, course, kinds


def run_axe(browser, axe_js):
    browser.set_script_timeout(180)
    browser.execute_script(axe_js)
    result = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})"
        ".then(r => done(r.violations)).catch(e => done(String(e)));", AXE_TAGS)
    assert not isinstance(result, str), f"axe-core failed: {result}"
    return result


def failing(violations):
    return [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"][:5]])
            for v in violations if v["impact"] in FAILING]


def check_structure(browser, kind):
    """lang, headings, alt texts, captions and scopes (what axe's serious rules do not cover)."""
    info = browser.execute_script("""
        const q = s => [...document.querySelectorAll(s)];
        return {
          lang: document.documentElement.lang,
          headings: q('h1,h2,h3,h4,h5,h6').map(h => +h.tagName[1]),
          alts: q('img').map(i => i.getAttribute('alt')),
          srcs: q('img').map(i => (i.getAttribute('src') || '').slice(0, 40)),
          tables: q('table.nncourse-summary, body > div.scroll > table').map(t => ({
            caption: t.caption ? t.caption.textContent.trim() : '',
            unscoped: [...t.querySelectorAll('th')].filter(th => !th.getAttribute('scope')).length})),
          rows: q('table.nncourse-summary tr.ok, table.nncourse-summary tr.ng, table.nncourse-summary tr.pending')
            .map(tr => [tr.className, tr.querySelector('td.score').textContent.trim(),
                        tr.querySelector('td.msg').textContent.trim()]),
          pendingLabels: q('span.pending').map(s => s.textContent.trim()),
        };""")
    assert info["lang"] == "ja", (kind, info["lang"])
    levels = info["headings"]
    assert levels and levels[0] == 1, (kind, levels)
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:])), (kind, levels)
    for alt, src in zip(info["alts"], info["srcs"]):
        assert alt and len(alt) > 15 and not alt.endswith(".png") and "_" not in alt.split()[0], \
            (kind, alt, src)
    for table in info["tables"]:
        assert table["caption"] and table["unscoped"] == 0, (kind, table)
    # colour is never the only signal: every row of the summary says in words or signs
    for cls, score, msg in info["rows"]:
        if cls == "pending":
            assert "採点待ち" in msg, (kind, cls, score, msg)
        else:
            assert score[:1] in "✓✗" or "採点済み" in msg, (kind, cls, score, msg)
    assert all(label == "採点待ち" for label in info["pendingLabels"]), info["pendingLabels"]
    return info


def check_reflow(browser, kind, shots):
    """No page-level sideways scroll at 200 % zoom or 360 px; screenshots of both."""
    try:
        for name, metrics in (("zoom200", ZOOM_200), ("phone360", PHONE)):
            browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
            time.sleep(0.5)
            width, inner = browser.execute_script(
                "return [document.documentElement.scrollWidth, window.innerWidth]")
            assert inner == metrics["width"] and width <= metrics["width"], \
                (kind, name, width, inner)
            hint = browser.execute_script(
                "const m = document.querySelector('table.nncourse-summary tr.ng td.msg');"
                "if (!m) return null; m.scrollIntoView(); const r = m.getBoundingClientRect();"
                "return [r.left, r.right, window.innerWidth];")
            if hint:
                assert hint[0] >= 0 and hint[1] <= hint[2] + 1, (kind, name, hint)
                browser.execute_script("window.scrollTo(0, 0)")
            browser.save_screenshot(str(shots / f"{kind}-{name}.png"))
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_axe_reports_the_violations_of_a_control_page(browser, axe_js, tmp_path):
    page = tmp_path / "control.html"
    page.write_text(CONTROL, encoding="utf-8")
    browser.get(page.as_uri())
    ids = {v[0] for v in failing(run_axe(browser, axe_js))}
    assert {"color-contrast", "label", "image-alt", "html-has-lang"} <= ids, ids


@pytest.mark.parametrize("kind", ["graded", "partly", "pending", "late", "not_graded", "report",
                                  "alone"])
def test_page_passes_axe_and_reads_at_200_percent_and_on_a_phone(kind, pages, browser, axe_js,
                                                                shots):
    found, _, _ = pages
    browser.get(found[kind].as_uri())
    time.sleep(1.0)                       # MathJax typesets (axe then sees the final page)
    assert failing(run_axe(browser, axe_js)) == [], kind
    info = check_structure(browser, kind)
    if kind == "report":
        assert len(info["alts"]) >= 2 and len(info["tables"]) >= 5, info
    if kind in ("partly", "pending", "late"):
        assert info["rows"], "no summary table"
    if kind == "pending":
        assert info["pendingLabels"] and any(r[0] == "pending" for r in info["rows"]), info["rows"]
    if kind == "alone":                   # the shared MathJax missing: said on the page
        assert browser.execute_script(
            "return document.documentElement.classList.contains('nncourse-no-mathjax')"
            " && getComputedStyle(document.querySelector('p.nncourse-mathjax-note')).display"
            " === 'block'")
    if kind in ("graded", "alone"):
        figures = [a for a in info["alts"] if a.startswith("あなたのコードが描いた図")]
        assert figures, info["alts"]       # the student's figures, described
    check_reflow(browser, kind, shots)


def test_formgrader_grading_page_passes_axe(pages, browser, axe_js, shots, tmp_path):
    from nbgrader.api import Gradebook
    from selenium.webdriver.common.by import By
    from nncourse.formgrader import Formgrader
    _, course, kinds = pages
    student, aid = kinds["pending"]
    notebook = course.notebooks(aid)[0]
    with Gradebook(course.db_url, course.course_id) as gb:
        nb_id = gb.find_submission_notebook(notebook, aid, student).id
    with open(tmp_path / "server.log", "w") as log, Formgrader(course, log=log) as fg:
        browser.get(fg.url)
        browser.get(f"{fg.base}/formgrader/submissions/{nb_id}")
        deadline = time.monotonic() + 60
        while not browser.execute_script(
                "return !!(window.formgrader && formgrader.grades && formgrader.grades.loaded)"):
            assert time.monotonic() < deadline, "formgrader's page did not load"
            time.sleep(0.5)
        boxes = browser.find_elements(By.CSS_SELECTOR, "input.score, textarea.comment")
        assert boxes, "no score or comment box on the page"
        assert failing(run_axe(browser, axe_js)) == []
        labelled = browser.execute_script(
            "return arguments[0].map(b => b.labels.length > 0 && b.labels[0].textContent.trim())",
            boxes)
        assert all(labelled), labelled
        info = browser.execute_script(
            "return [document.documentElement.lang, [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')]"
            ".map(h => +h.tagName[1])]")
        assert info[0] == "ja" and info[1][0] == 1, info
        assert all(b <= a + 1 for a, b in zip(info[1], info[1][1:])), info
        check_reflow(browser, "formgrader", shots)
