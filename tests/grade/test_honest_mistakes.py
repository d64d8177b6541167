"""Honest mistakes in a submission's structure are graded, with a note (issue 16, part 1).

One a1_loss cohort graded by the real ``nncourse grade`` command: a good student, students
who made an honest mistake with the notebook's structure (a pasted image in a written answer,
a copied test cell, cells added or moved, nbgrader metadata of other versions or lost, old
nbformat minor versions) and students who try to gain from the repairs (copied or invented
test cells with more points).  Each honest one is graded as far as the notebook allows, with a
Japanese note in the feedback and an English line in the result record and the summary;
nobody gains points from a repair.
"""
import base64
import copy
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import configured_copy
from nbgrader import utils as nbutils

from nncourse.build import ensure_built, release_notebook
from nncourse.cohort import reference_submission

from nncourse.core.records import load_result

ROOT = Path(__file__).resolve().parents[2]
AID = "a1_loss"
FULL = 7.0                      # autograded points of the reference (+4 manual)
BROKEN_SSE = "def sum_squared_error(y, t):\n    return 0.0\n"    # fails its 2-point test
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(40)).decode()
pytestmark = pytest.mark.slow


def cells(nb):
    return {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}


def nbgrader_meta(nb, change):
    for c in nb.cells:
        if "nbgrader" in c.metadata:
            change(c.metadata.nbgrader)


def paste_image(nb):
    c = cells(nb)["why_loss"]
    c.source += "\n\n図にすると次のとおり:\n\n![image.png](attachment:image.png)\n"
    c["attachments"] = {"image.png": {"image/png": PNG}}


def copy_cell(nb, gid, times=1, edit=None):
    c = cells(nb)[gid]
    at = nb.cells.index(c)
    for i in range(times):
        dup = copy.deepcopy(c)
        dup["id"] = f"pasted-{gid[:20]}-{i}"
        if edit:
            edit(dup)
        nb.cells.insert(at + 1 + i, dup)


def add_cells(nb):
    nb.cells.insert(5, nbformat.v4.new_code_cell("print('自分で試したコード')"))
    nb.cells.insert(3, nbformat.v4.new_markdown_cell("メモ: 2乗和誤差"))
    nb.cells.append(nbformat.v4.new_code_cell("x = 1"))


def move(nb, gid, before=None):
    c = cells(nb)[gid]
    nb.cells.remove(c)
    nb.cells.insert(nb.cells.index(cells(nb)[before]) if before else len(nb.cells), c)


def strip_metadata(nb):
    for c in nb.cells:
        c.metadata.pop("nbgrader", None)


def other_versions(nb):
    """Metadata as other nbgrader versions and editors leave it, cell by cell."""
    changes = [lambda m: m.update(schema_version=1), lambda m: m.update(schema_version=2),
               lambda m: m.pop("schema_version"),
               lambda m: m.update(schema_version=4), lambda m: m.pop("cell_type", None),
               lambda m: m.update(editor_state="x")]
    for i, c in enumerate(c for c in nb.cells if "nbgrader" in c.metadata):
        changes[i % len(changes)](c.metadata.nbgrader)


def paste_other_notebook(nb):
    cell = nbformat.v4.new_code_cell("assert True")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "test_numerical_diff", "locked": True,
                                 "points": 3, "schema_version": 3, "solution": False,
                                 "task": False}
    nb.cells.append(cell)


def break_sse(nb):
    cells(nb)["sum_squared_error"].source = BROKEN_SSE


def cheat_copies(nb):
    break_sse(nb)

    def edit(c):
        c.source = "pass"
        c.metadata.nbgrader.update(points=100, locked=False)
    copy_cell(nb, "test_sum_squared_error", times=3, edit=edit)
    move(nb, "test_sum_squared_error")           # the real one last: a copy comes first
    t = cells(nb)["test_sum_squared_error"]
    t.source = "pass"
    t.metadata.nbgrader.update(points=100, locked=False)


def cheat_invented(nb):
    break_sse(nb)
    cell = nbformat.v4.new_code_cell("pass")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "bonus", "locked": False,
                                 "points": 50, "schema_version": 3, "solution": False,
                                 "task": False}
    nb.cells.append(cell)


def cheat_unmarked_test(nb):
    break_sse(nb)
    t = cells(nb)["test_sum_squared_error"]
    t.source = "pass"
    t.metadata.pop("nbgrader")            # the cell id still names it: graded from the source


# student -> (make, status, score, Japanese note in the feedback ("" none), English note?)
CASES = {
    "pasted_image": (paste_image, FULL, "", False),
    "copied_test": (lambda nb: copy_cell(nb, "test_sum_squared_error"), FULL,
                    "同じテストセル test_sum_squared_error が 2 つあったため、2 つ目は採点に使っていません", True),
    "copied_answer": (lambda nb: copy_cell(nb, "why_loss"), FULL,
                      "同じ解答セル why_loss が 2 つあったため", True),
    "cells_added_and_moved": (lambda nb: (add_cells(nb), move(
        nb, "test_sum_squared_error", before="sum_squared_error")), FULL - 2, "", False),
    "other_versions": (other_versions, FULL, "配布時のものに置き換えて採点しました", True),
    "metadata_lost": (strip_metadata, FULL, "配布時の情報を戻して採点しました", True),
    "pasted_other_notebook": (paste_other_notebook, FULL,
                              "この課題のノートブックにないセル (test_numerical_diff)", True),
    "cheat_copies": (cheat_copies, FULL - 2, "同じテストセル test_sum_squared_error が 4 つ", True),
    "cheat_invented": (cheat_invented, FULL - 2, "ノートブックにないセル (bonus)", True),
    "cheat_unmarked_test": (cheat_unmarked_test, FULL - 2, "配布時の情報を戻して", True),
}
OLD_MINOR = (0, 4)              # nbformat 4.0 and 4.4 (no cell ids)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = configured_copy(ROOT, tmp_path_factory.mktemp("honest") / "course", "\nCELL_TIMEOUT_S = 10\nNOTEBOOK_TIMEOUT_S = 90\n")
    ensure_built(course, [AID])
    name = release_notebook(course, AID).name

    def submit(student, nb, raw=None):
        dest = course.submitted_dir(student, AID)
        dest.mkdir(parents=True)
        if raw is not None:
            (dest / name).write_text(raw, encoding="utf-8")
        else:
            nbformat.write(nb, dest / name)
    submit("good", reference_submission(course, AID))
    for student, (make, *_) in CASES.items():
        nb = reference_submission(course, AID)
        make(nb)
        submit(student, nb)
    for minor in OLD_MINOR:
        nb = reference_submission(course, AID)
        nb.nbformat_minor = minor
        for c in nb.cells:
            c.pop("id", None)
        submit(f"nbformat_4_{minor}", None, raw=json.dumps(nb, ensure_ascii=False, indent=1))
    proc = subprocess.run([sys.executable, "-m", "nncourse.cli", "--course-dir", str(course.root),
                           "grade", "--no-progress", "--jobs", "2", AID],
                          capture_output=True, text=True)
    return course, proc


def students():
    return list(CASES) + [f"nbformat_4_{m}" for m in OLD_MINOR]


def feedback_text(course, student):
    return "".join(p.read_text(encoding="utf-8")
                   for p in course.feedback_dir(student, AID).glob("*.html"))


def test_run_succeeds(graded):
    course, proc = graded
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "NOT GRADED" not in proc.stdout
    good = load_result(course, AID, "good")
    assert (good["status"], good["score"], good["repairs"]) == ("graded", FULL, [])


@pytest.mark.parametrize("student", students())
def test_graded_with_a_note(graded, student):
    course, proc = graded
    _, score, note, english = CASES.get(student, (None, FULL, "", False))
    r = load_result(course, AID, student)
    good = load_result(course, AID, "good")
    assert r["status"] == "graded", r.get("error")
    assert r["score"] == score, [(c["grade_id"], c["score"], c["message"]) for c in r["cells"]]
    assert r["max_score"] == good["max_score"]           # no points from copies or inventions
    assert sorted(c["grade_id"] for c in r["cells"]) == sorted(c["grade_id"] for c in good["cells"])
    page = feedback_text(course, student)
    assert "NbGraderException" not in page + json.dumps(r, ensure_ascii=False)
    assert "Traceback (most recent call last)" not in page
    if note:
        assert note in page, page[:3000]
        assert any(note in p for p in r["problems"]), r["problems"]
    if english:
        assert r["repairs"] and all(line.isascii() for line in r["repairs"]), r["repairs"]
        for line in r["repairs"]:
            assert f"REPAIRED {student}/{AID}: {line}" in proc.stdout
    else:
        assert r["repairs"] == [] and f"REPAIRED {student}/" not in proc.stdout


def test_pasted_image_is_kept_for_the_teacher(graded):
    course, _ = graded
    [path] = course.autograded_dir("pasted_image", AID).glob("*.ipynb")
    answer = cells(nbformat.read(path, as_version=4))["why_loss"]
    assert answer.attachments["image.png"]["image/png"] == PNG
    # the sanitized answer shows it (sanitize.py embeds the cell's own image), in formgrader
    # and in the feedback alike
    assert f'src="data:image/png;base64,{PNG}"' in answer.source, answer.source


def test_test_cells_come_from_the_source(graded):
    """Whatever the cheat did to its test cells, the graded one is the source's, once."""
    course, _ = graded
    source = cells(course.read_source(AID))["test_sum_squared_error"].source
    for student in ("cheat_copies", "cheat_unmarked_test", "copied_test"):
        [path] = course.autograded_dir(student, AID).glob("*.ipynb")
        nb = nbformat.read(path, as_version=4)
        graded_cells = [c for c in nb.cells if nbutils.is_grade(c)
                        and c.metadata.nbgrader["grade_id"] == "test_sum_squared_error"]
        assert len(graded_cells) == 1, student
        assert graded_cells[0].source == source, student
        assert float(graded_cells[0].metadata.nbgrader["points"]) == 2.0


def test_gradebook_has_each_student_once_with_the_source_cells(graded):
    from nbgrader.api import Gradebook
    course, _ = graded
    source = course.read_source(AID)
    grade_ids = {c.metadata.nbgrader["grade_id"] for c in source.cells
                 if nbutils.is_grade(c) or nbutils.is_task(c)}
    with Gradebook(course.db_url, course.course_id) as gb:
        subs = gb.find_assignment(AID).submissions
        assert sorted(s.student.id for s in subs) == sorted(students() + ["good"])
        for sub in subs:
            [nb] = sub.notebooks
            assert {g.name for g in nb.grades} == grade_ids, sub.student.id
            assert float(sub.max_score) == 11.0, sub.student.id
