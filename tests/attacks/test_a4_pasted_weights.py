"""a4's training points are for training the grader sees work (issue 16, item 8).

A network trained elsewhere and pasted into the notebook as numbers (its ``params`` and the
three lists, base64 literals in the training cell) is graded by the real ``nncourse grade``
next to an honest student: it gets none of the 4 training points -- before the student-written
``train_step`` existed it got all 4, with no working training loop -- whether the rest of the
notebook is blank (the release) or answered; the honest student keeps every point.
"""
import base64
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbgrader import utils as nbutils

import reference as ref
from nncourse.build import ensure_built, release_notebook
from nncourse.cohort import reference_submission
from nncourse.core.course import Course, copy_course
from nncourse.core.records import load_result

ROOT = Path(__file__).resolve().parents[2]
AID = "a4_two_layer_net"
TRAINING = ["test_train_step", "test_minibatch_training_history", "test_minibatch_training_result"]
pytestmark = pytest.mark.slow


def _b64(values):
    return base64.b64encode(np.ascontiguousarray(values, dtype=np.float32).tobytes()).decode()


def pasted_training_cell(r):
    """The training cell of a student who trained elsewhere: only numbers, no training."""
    lines = ["import base64", "",
             "def pasted(text, shape):",
             "    return np.frombuffer(base64.b64decode(text), dtype=np.float32).reshape(shape).copy()",
             "", "", "class PastedNetwork:", "    pass", "",
             "", "network = PastedNetwork()", "network.params = {}"]
    for key, value in r.network.params.items():
        lines.append(f"network.params[{key!r}] = pasted({_b64(value)!r}, {value.shape})")
    lines.append(f"train_loss_list = [float(v) for v in pasted({_b64(r.train_loss_list)!r}, "
                 f"({len(r.train_loss_list)},))]")
    for name in ("train_acc_list", "test_acc_list"):
        lines.append(f"{name} = {[float(v) for v in getattr(r, name)]!r}")
    return "\n".join(lines) + "\n"


def cells(nb):
    return {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}


def paste(nb, training_cell, release=None):
    """``nb`` with its training cell replaced by ``training_cell``; ``release``: its
    ``train_step`` answer left as the release's stub."""
    cells(nb)["minibatch_training"].source = training_cell
    if release is not None and "train_step" in cells(release):
        cells(nb)["train_step"].source = cells(release)["train_step"].source
    return nb


def grade_pasted(course_dir):
    """Grade an honest student and two who pasted a trained network; {student: result}."""
    course = Course.load(course_dir)
    ensure_built(course, [AID])
    name = release_notebook(course, AID).name
    release = nbformat.read(release_notebook(course, AID), as_version=4)
    training_cell = pasted_training_cell(ref.train_mnist(seed=0))
    subs = {"honest": reference_submission(course, AID),
            "pasted_only": paste(nbformat.read(release_notebook(course, AID), as_version=4),
                                 training_cell),
            "pasted_with_answers": paste(reference_submission(course, AID), training_cell, release)}
    for student, nb in subs.items():
        dest = course.submitted_dir(student, AID)
        dest.mkdir(parents=True)
        nbformat.write(nb, dest / name)
    proc = subprocess.run([sys.executable, "-m", "nncourse.cli", "--course-dir", str(course.root),
                           "grade", "--no-progress", "--jobs", "2", AID],
                          capture_output=True, text=True)
    return proc, {s: load_result(course, AID, s) for s in subs}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return grade_pasted(copy_course(ROOT, tmp_path_factory.mktemp("pasted") / "course"))


def lost(result):
    return {c["grade_id"]: c["score"] for c in result["cells"] if c["grade_id"] in TRAINING}


def test_honest_student_keeps_every_point(graded):
    proc, results = graded
    r = results["honest"]
    assert r["status"] == "graded", (r.get("error"), proc.stdout[-2000:])
    assert r["score"] == 13.0, [(c["grade_id"], c["score"], c["message"]) for c in r["cells"]]


def test_pasted_network_alone_scores_nothing(graded):
    _, results = graded
    r = results["pasted_only"]
    assert r["status"] == "graded", r.get("error")
    assert r["score"] == 0.0, [(c["grade_id"], c["score"], c["message"]) for c in r["cells"]]


def test_pasted_network_next_to_answers_loses_exactly_the_training_points(graded):
    _, results = graded
    r = results["pasted_with_answers"]
    assert r["status"] == "graded", r.get("error")
    assert r["score"] == 13.0 - 4.0, [(c["grade_id"], c["score"]) for c in r["cells"]]
    assert lost(r) == {g: 0.0 for g in TRAINING}
    messages = {c["grade_id"]: c["message"] or "" for c in r["cells"]}
    assert "まだ実装されていません" in messages["test_train_step"]
    for g in TRAINING[1:]:
        assert "train_step (問 3) のテストが通っていない" in messages[g], messages[g]


def test_source_cells_are_still_graded(graded):
    """The grade_ids the pasted notebooks were graded on are the source's."""
    _, results = graded
    source = Course.load(ROOT).read_source(AID)
    gids = {c.metadata.nbgrader["grade_id"] for c in source.cells
            if nbutils.is_grade(c) and c.cell_type == "code"}
    for r in results.values():
        assert {c["grade_id"] for c in r["cells"]} >= gids
