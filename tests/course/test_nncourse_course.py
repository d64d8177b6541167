"""nncourse on the real course (4 assignments, MNIST training): slow, run with ``-m slow``.

The demo cohort is built and graded once per session (``demo_cohort`` in conftest.py) and
only read here; the broken-reference test works on a copy of its own.
"""
import html
import re
from pathlib import Path

import pytest

from nncourse.cohort import cohort_of
from nncourse.core.course import Course, copy_course
from nncourse.validate import validate

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def scores(run):
    return {(r["student"], r["assignment"]): r for r in run.results}


def test_demo_cohort_loses_points_only_where_its_mistakes_are(demo_cohort):
    course, run = demo_cohort            # shared (conftest.py): only read
    by = scores(run)
    auto_max = {aid: sum(c["max_score"] for c in by[("s01_reference", aid)]["cells"]
                         if c["kind"] == "auto") for aid in course.assignments}
    for aid in course.assignments:
        assert by[("s01_reference", aid)]["score"] == auto_max[aid]      # all autograded points
        assert by[("s02_release", aid)]["score"] == 0
    for entry in cohort_of(course):
        if entry["kind"] != "mistakes" or entry.get("slow"):
            continue
        wrong = {m["assignment"] for m in entry["mistakes"]}
        for aid in course.assignments:
            got = by[(entry["student"], aid)]["score"]
            if aid in wrong:
                assert got < auto_max[aid], (entry["student"], aid)
            else:
                assert got == auto_max[aid], (entry["student"], aid)
    assert by[("s08_broken", "a1_loss")]["status"] == "failed"
    assert [k for k, r in by.items() if r["status"] != "graded"] == [("s08_broken", "a1_loss")]
    assert run.exit_status == 1
    assert run.report.html.is_file() and run.report.csv.is_file()


def test_feedback_never_shows_hidden_test_code(demo_cohort):
    course, run = demo_cohort            # shared (conftest.py): only read
    for aid in course.assignments:
        hidden = []
        for cell in course.read_source(aid).cells:
            inside = False
            for line in cell.source.split("\n"):
                if "BEGIN HIDDEN TESTS" in line:
                    inside = True
                elif "END HIDDEN TESTS" in line:
                    inside = False
                elif inside and len(line.strip()) > 10:
                    hidden.append(line.strip())
        assert hidden, aid
        for page in (course.root / "feedback").glob(f"*/{aid}/*.html"):
            text = html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))
            assert not [h for h in hidden if h in text], page


def test_validate_fails_when_a_reference_solution_is_broken(tmp_path):
    course = Course.load(copy_course(ROOT, tmp_path / "course"))
    losses = course.root / "reference" / "losses.py"
    text = losses.read_text()
    assert "return 0.5 * np.sum((y - t) ** 2)" in text
    losses.write_text(text.replace("return 0.5 * np.sum((y - t) ** 2)", "return np.sum((y - t) ** 2)"))
    res = validate(course, ["a1_loss"], progress=False, workdir=tmp_path / "work")
    assert not res.ok
    assert "a1_loss: reference" in res.format()
