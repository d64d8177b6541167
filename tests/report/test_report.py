"""The instructor's report (nncourse/report/): what to do next, mistakes by hint, not
attempted apart, pending manual grading, CSVs, plots; a screenshot in headless Chromium.

Fast: hand-written result records and gradebook scores on a copy of the toy course.
Slow: the real demo cohort (``demo_cohort`` in conftest.py, graded once per session): each
planted mistake under its hint with its student, the untouched release as not attempted, the
written answers pending.
"""
import csv
import html
import json
from pathlib import Path

import pytest

import nncourse.report.write as W
from nncourse.core.gradebook import gradebook_scores
from nncourse.report.data import analyse, submissions
from nncourse.core.course import Course, copy_course
from nncourse.core.records import load_results, result_path

ROOT = Path(__file__).resolve().parents[2]
TOY = ROOT / "tests" / "fixtures" / "toy_course"
HALF = "1/2 (0.5) を掛け忘れていませんか？ E = 1/2 Σ_k (y_k - t_k)^2 です。"
MEAN = "データ数 N で割って平均するのを忘れていませんか？"
STUB = ("CheckFailed: [採点] 2乗 square: まだ実装されていません (NotImplementedError)。"
        "解答欄のコードを書いてください。")


def auto(gid, score, mx, message=None, **kw):
    return dict({"grade_id": gid, "kind": "auto", "points": mx, "hidden": True, "message": message,
                 "score": score, "max_score": mx, "needs_manual_grade": False}, **kw)


def manual(gid, score, mx, pending=False, unanswered=False):
    return {"grade_id": gid, "kind": "manual", "points": mx, "hidden": False, "message": None,
            "score": score, "max_score": mx, "needs_manual_grade": pending, "unanswered": unanswered}


def wrong(check, hint):
    return f"CheckFailed: [採点] {check}: 値が正しくありません。\n  入力: x = 3\n  ヒント: {hint}"


# student -> (status, cells, extra record fields)
RECORDS = {
    "s01_good": ("graded", [auto("test_square", 3, 3), auto("test_mean", 2, 2),
                            manual("answer_why", 0, 1, pending=True)], {}),
    "s02_stub": ("graded", [auto("test_square", 0, 3, STUB), auto("test_mean", 0, 2, STUB),
                            manual("answer_why", 0, 1, unanswered=True)], {}),
    "s03_half": ("graded", [auto("test_square", 0, 3, wrong("2乗 square", HALF)),
                            auto("test_mean", 2, 2), manual("answer_why", 1, 1)], {}),
    "s04_half_mean": ("graded", [auto("test_square", 0, 3, wrong("2乗 square (batch)", HALF)),
                                 auto("test_mean", 0, 2, wrong("平均 mean", MEAN)),
                                 manual("answer_why", 0, 1, pending=True)],
                      {"pending_manual": ["answer_why"], "manual_changed": ["answer_why"]}),
    "s05_broken": ("failed", [], {"error": "ノートブックを読み込めませんでした (ファイルが壊れています)。"}),
}


@pytest.fixture
def toy_report(tmp_path, monkeypatch):
    course = Course.load(copy_course(TOY, tmp_path / "course"))
    aid = "t1_square"
    scores = {}
    for student, (status, cells, extra) in RECORDS.items():
        course.submitted_dir(student, aid).mkdir(parents=True)
        record = dict({"student": student, "assignment": aid, "status": status, "error": None,
                       "problems": [], "cells": cells, "feedback": [], "flags": [],
                       "score": sum(c["score"] for c in cells), "max_score": 6.0}, **extra)
        path = result_path(course, aid, student)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
        if status == "graded":
            scores[(student, aid)] = {
                "score": float(sum(c["score"] for c in cells if not c["needs_manual_grade"])),
                "max_score": 6.0, "needs_manual_grade": any(c["needs_manual_grade"] for c in cells),
                "timestamp": "", "grades": {c["grade_id"]: {
                    "score": float(c["score"]), "max_score": float(c["max_score"]),
                    "needs_manual_grade": c["needs_manual_grade"]} for c in cells}}
    monkeypatch.setattr(W, "gradebook_scores", lambda course, aids: scores)
    return course, W.write_report(course, [aid])


def rows(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def section(text, start_id):
    """The HTML from the heading with id ``start_id`` to the next <h2>."""
    part = text.split(f"id='{start_id}'", 1)[1]
    return part.split("<h2", 1)[0]


def test_report_groups_mistakes_by_hint_and_counts_not_attempted_apart(toy_report):
    course, report = toy_report
    text = report.html.read_text(encoding="utf-8")
    for heading in ("次にすること (Next steps)", "学生ごとの得点 (Scores per student)",
                    "採点待ちの記述問題 (Pending manual grading)", "よくある間違い (Most frequent",
                    "未着手 (Not attempted)", "問題ごとの結果 (Scores per exercise",
                    "採点できなかった提出 (Could not be graded)", "得点分布 (Score distributions)"):
        assert heading in text, heading
    assert text.index("次にすること") < text.index("学生ごとの得点")          # next steps on top
    mistakes = section(text, "mistakes")
    half = next(r for r in mistakes.split("<tr>") if html.escape(HALF) in r)
    assert "s03_half" in half and "s04_half_mean" in half and "<td>2</td>" in half
    assert "s04_half_mean" in next(r for r in mistakes.split("<tr>") if html.escape(MEAN) in r)
    assert "NotImplementedError" not in mistakes.split("</p>", 1)[1] and "s02_stub" not in mistakes
    idle = section(text, "not-attempted")
    stub = next(r for r in idle.split("<tr>") if "s02_stub" in r)
    assert "<td>3 / 3</td>" in stub                   # both tests and the empty written answer
    assert all(g in stub for g in ("test_square", "test_mean", "answer_why"))
    assert idle.count("<tr>") == 2                    # nobody else
    pending = section(text, "pending")
    assert "s01_good" in pending and "s04_half_mean" in pending and "s03_half" not in pending
    assert "再提出で解答が変わりました" in pending                 # manual_changed
    steps = section(text, "next")
    assert "記述問題の採点 2 件" in steps and "採点できなかった提出 1 件" in steps
    assert html.escape(HALF)[:30] in steps                        # the top mistake is named
    exercises = section(text, "exercises")
    square = next(r for r in exercises.split("<tr>") if "test_square" in r)
    assert "25% (1/4)" in square and html.escape(HALF)[:30] in square
    assert "s05_broken" in section(text, "not-graded")


def test_report_csvs_per_student_and_per_exercise(toy_report):
    course, report = toy_report
    students = {r["student_id"]: r for r in csv.DictReader(open(report.students_csv, encoding="utf-8"))}
    good = students["s01_good"]
    assert (good["t1_square_auto"], good["t1_square_manual"], good["t1_square_total"],
            good["t1_square_max"], good["t1_square_pending_manual"],
            good["t1_square_pending_cells"]) == ("5", "0", "5", "6", "True", "answer_why")
    assert students["s03_half"]["t1_square_manual"] == "1"
    assert students["s03_half"]["t1_square_pending_manual"] == "False"
    assert students["s04_half_mean"]["t1_square_manual_changed"] == "answer_why"
    assert students["s05_broken"]["t1_square_status"] == "failed"
    assert students["s01_good"]["pending_manual"] == "True"
    table = rows(report.exercises_csv)
    assert table[0] == ["student_id", "t1_square/test_square", "t1_square/test_mean",
                        "t1_square/answer_why"]
    assert table[1] == ["(max)", "3", "2", "1"]
    by = {r[0]: r[1:] for r in table[2:]}
    assert by["s01_good"] == ["3", "2", "pending"] and by["s03_half"] == ["0", "2", "1"]
    assert by["s05_broken"] == ["", "", ""]
    grades = {r["student_id"]: r for r in csv.DictReader(open(report.csv, encoding="utf-8"))}
    assert grades["s04_half_mean"]["pending_manual"] == "answer_why"


def test_report_plots_exist_and_are_not_cut(toy_report):
    import matplotlib.image as mpimg
    course, report = toy_report
    names = sorted(p.name for p in report.plots)
    assert names == ["exercises.png", "scores_t1_square.png", "scores_total.png"]
    for p in report.plots:
        h, w = mpimg.imread(p).shape[:2]
        assert 200 < w < 1400 and 150 < h < 1400, (p.name, w, h)


def screenshot(driver, page, out):
    """Open ``page`` and save a full-page PNG; returns (width, height) of the page."""
    driver.set_window_size(1280, 1000)
    driver.get(page.as_uri())
    width = driver.execute_script("return document.documentElement.scrollWidth")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(height + 120, 12000))
    driver.save_screenshot(str(out))
    return width, height


def test_report_screenshot_in_chromium(toy_report, browser, tmp_path):
    import matplotlib.image as mpimg
    course, report = toy_report
    out = tmp_path / "report.png"
    width, height = screenshot(browser, report.html, out)
    assert width <= 1280, "the report is wider than the window (something sticks out)"
    assert 1500 < height < 12000
    img = mpimg.imread(out)
    assert img.shape[1] >= 1200 and img.shape[0] > 1500 and out.stat().st_size > 50_000
    ids = browser.execute_script("return [...document.querySelectorAll('h2[id]')].map(h => h.id)")
    for key in ("next", "not-graded", "students", "pending", "mistakes", "not-attempted",
                "exercises", "plots"):
        assert key in ids, (key, ids)
    assert ids.index("next") == 0
    images = browser.execute_script(
        "return [...document.images].map(i => [i.alt, i.complete && i.naturalWidth, "
        "i.getBoundingClientRect().right])")
    assert len(images) == len(report.plots)
    for alt, natural, right in images:
        assert natural and natural > 200, alt             # loaded
        assert right <= 1280, alt                        # fully inside the page
    # every table fits in the page, and the visible text has the key words
    assert browser.execute_script(
        "return [...document.querySelectorAll('table')].every(t => t.getBoundingClientRect().right <= 1280)")
    body = browser.find_element("tag name", "body").text
    for words in ("次にすること", "採点待ち", "よくある間違い", "s03_half", "未着手"):
        assert words in body


# --- the real demo cohort ---------------------------------------------------------------------
PLANTED = [           # (student, assignment, hint keys in autograders/<aid>.py HINTS: any of them)
    ("s03_sse_no_half", "a1_loss", ["sse_no_half"]),
    ("s06_no_batch_mean", "a1_loss", ["ce_not_averaged"]),
    ("s04_forward_diff", "a2_gradient", ["forward"]),
    ("s05_lr_sign", "a3_gradient_descent", ["ascent"]),
    # (a4's checks answer a count with the int-dtype hint and, for the history, acc_percent)
    ("s07_accuracy_count", "a4_two_layer_net", ["acc_count", "acc_percent"]),
]


@pytest.mark.slow
def test_report_on_the_demo_cohort(tmp_path, browser, demo_cohort):
    import importlib
    course, run = demo_cohort                     # shared (tests/conftest.py): only read here
    aids = course.assignments
    subs = submissions(load_results(course, aids), gradebook_scores(course, aids))
    analysis = analyse(subs)
    text = run.report.html.read_text(encoding="utf-8")
    mistakes = section(text, "mistakes")
    for student, aid, keys in PLANTED:
        hints = [importlib.import_module(f"autograders.{aid}").HINTS[k] for k in keys]
        found = [h for h in hints if student in analysis.mistakes.get((aid, h), {}).get("students", [])]
        assert found, (student, aid, keys, sorted(analysis.mistakes))
        row = next((r for r in mistakes.split("<tr>") if html.escape(found[0]) in r), "")
        assert student in row, (student, found[0])
    # the untouched release: not attempted everywhere, never among the mistakes
    assert all(m["students"] != ["s02_release"] and "s02_release" not in m["students"]
               for m in analysis.mistakes.values())
    idle = {k for k, who in analysis.not_attempted.items() if "s02_release" in who}
    tests = {k for k in analysis.exercises}
    assert tests <= idle, sorted(tests - idle)
    # the reference student's written answers wait for the teacher, and the report says so
    ref = [subs[("s01_reference", a)] for a in aids]
    assert all(s.auto == s.auto_max for s in ref)
    assert all(s.pending_points == s.manual_max for s in ref) and sum(s.manual_max for s in ref) == 8
    pending = section(text, "pending")
    assert "s01_reference" in pending
    assert f"{sum(s.pending_points for s in ref):g} 点" in section(text, "students")
    width, height = screenshot(browser, run.report.html, tmp_path / "demo-report.png")
    assert width <= 1280 and height > 3000
