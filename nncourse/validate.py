"""``nncourse validate``: the reference solutions through the whole pipeline.

On a copy of the course: build (with the leak check), submit the reference solutions and
the untouched release as two students, grade them, then require that the reference gets
every autograded point with no time-outs or crashes, that the release does not get full
marks, and that the training notebook's final accuracies meet the lecture's thresholds.
"""
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .build import BuildError, build
from .cohort import create_cohort
from .core.course import Course, copy_course
from .grade.run import grade
from .grade.task import GRADER

REFERENCE, RELEASE = "reference", "release"
# the slides print "train acc, test acc | 0.9444, 0.9421" once per epoch
ACCURACY = re.compile(r"train acc, test acc\s*\|\s*([0-9.]+)\s*,\s*([0-9.]+)")


@dataclass
class ValidateResult:
    ok: bool = True
    lines: list = field(default_factory=list)
    workdir: Path = None

    def passed(self, text):
        self.lines.append(f"ok    {text}")

    def failed(self, text):
        self.ok = False
        self.lines.append(f"FAIL  {text}")

    def format(self):
        tail = ("validate: OK" if self.ok else
                f"validate: FAILED (the graded copy is kept in {self.workdir})")
        return "\n".join(self.lines + [tail])


def final_accuracies(nb):
    """(train acc, test acc) of the last epoch printed in a notebook's outputs, or None."""
    found = None
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            text = out.get("text", "") if out.get("output_type") == "stream" else \
                out.get("data", {}).get("text/plain", "")
            for m in ACCURACY.finditer(text if isinstance(text, str) else "".join(text)):
                found = (float(m.group(1)), float(m.group(2)))
    return found


def _check_accuracy(course, vcourse, aid, res):
    min_acc = course.setting("MIN_TEST_ACCURACY")
    gap = course.setting("MAX_TRAIN_TEST_GAP")
    if min_acc is None or aid != course.setting("TRAINING_ASSIGNMENT"):
        return
    accs = None
    for path in sorted(vcourse.autograded_dir(REFERENCE, aid).glob("*.ipynb")):
        accs = final_accuracies(nbformat.read(path, as_version=4)) or accs
    if accs is None:
        res.failed(f"{aid}: no 'train acc, test acc | …' line in the reference's outputs")
        return
    train, test = accs
    (res.passed if test >= min_acc else res.failed)(
        f"{aid}: final test accuracy {test:.4f} (MIN_TEST_ACCURACY {min_acc})")
    if gap is not None:
        (res.passed if abs(train - test) <= gap else res.failed)(
            f"{aid}: |train - test| = {abs(train - test):.4f} (MAX_TRAIN_TEST_GAP {gap})")


def validate(course, assignments=None, jobs=1, progress=True, workdir=None):
    """Run the checks on a copy of ``course``; the copy is removed when everything passes."""
    aids = course.select(assignments)
    res = ValidateResult(workdir=Path(workdir or tempfile.mkdtemp(prefix="nncourse-validate-")))
    vcourse = Course.load(copy_course(course.root, res.workdir))
    try:
        build(vcourse, aids)
        res.passed(f"build: no solution, hidden test or reference code in {', '.join(aids)}")
    except BuildError as exc:
        res.failed(f"build: {exc}")
        return res
    create_cohort(vcourse, [{"student": REFERENCE, "kind": "reference"},
                            {"student": RELEASE, "kind": "release"}], aids)
    run = grade(vcourse, aids, jobs=jobs, progress=progress)
    results = {(r["student"], r["assignment"]): r for r in run.results}
    for aid in aids:
        ref, rel = results.get((REFERENCE, aid)), results.get((RELEASE, aid))
        if ref is None or ref["status"] != "graded":
            res.failed(f"{aid}: the reference could not be graded: "
                       f"{ref and (ref.get('error_en') or ref.get('error'))}")
            continue
        if rel is not None and rel["status"] != "graded" and rel.get("cause") == GRADER:
            res.failed(f"{aid}: the release could not be graded: {rel.get('error_en')}")
        auto = [c for c in ref["cells"] if c["kind"] == "auto"]
        lost = [c for c in auto if c["score"] < c["max_score"]]
        got = sum(c["score"] for c in auto)
        if lost:
            res.failed(f"{aid}: reference {got:g}/{sum(c['max_score'] for c in auto):g} "
                       "autograded points; " + "; ".join(
                           f"{c['grade_id']}: {c.get('message')}" for c in lost))
        else:
            manual = sum(c["max_score"] for c in ref["cells"] if c["kind"] == "manual")
            res.passed(f"{aid}: reference gets all {got:g} autograded points"
                       + (f" (+{manual:g} graded by hand)" if manual else ""))
        for p in ref.get("problems", []):
            res.failed(f"{aid}: reference: {p}")
        if rel is not None and rel["max_score"] and rel["score"] >= rel["max_score"]:
            res.failed(f"{aid}: the untouched release gets full marks: the tests test nothing")
        _check_accuracy(course, vcourse, aid, res)
    if res.ok:
        shutil.rmtree(res.workdir, ignore_errors=True)
    return res
