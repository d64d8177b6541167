"""Similarity between submissions (copydetect): planted copies found, independent answers not.

The independent students are the catalogue's variants (autograders/catalogue/variants.toml,
correct answers written in other styles), applied as ``nncourse.cohort`` and the catalogue do;
each student takes a different variant of every cell that has some.  Next to them sit the demo
cohort (the reference solutions with one mistake each) and planted copies: another student's
solution cells with the variables renamed and the functions (cells) in reverse order.
"""
import copy
import re
from pathlib import Path

import nbformat
import pytest

import autograders.catalogue as catalogue
from nncourse.cohort import DEFAULT_COHORT, apply_mistake
from nncourse.core.course import Course, copy_course
from nncourse.lms import similarity
from nncourse.lms.sections import similar_submissions

ROOT = Path(__file__).resolve().parents[2]
COURSE = Course.load(ROOT)
THRESHOLD = COURSE.setting("SIMILARITY_THRESHOLD")
RENAMES = {"y": "pred", "t": "target", "delta": "eps", "n": "bs", "x": "inp", "h": "step",
           "grad": "g", "idx": "i", "f": "fn", "labels": "lab", "total": "acc", "lr": "eta",
           "network": "net", "params": "prm", "batch_size": "m", "d": "diff"}


def renamed_and_reordered(nb):
    cells = [c.source for c in nb.cells if c.cell_type == "code" and catalogue.nbutils.is_solution(c)]
    code = "\n\n".join(reversed(cells))
    return re.sub(r"\b(" + "|".join(RENAMES) + r")\b", lambda m: RENAMES[m[1]], code)


def cohort(aid):
    """{student: solution code}: reference, demo mistakes, independent variants, planted copies."""
    src = catalogue.as_submitted(COURSE.read_source(aid))
    docs = {"s01_reference": similarity.solution_code(src)}
    for entry in DEFAULT_COHORT:
        for m in entry.get("mistakes", []):
            if m["assignment"] == aid and "break" not in m:
                nb = apply_mistake(copy.deepcopy(src), m)
                docs[entry["student"]] = similarity.solution_code(nb)
    by_cell = {}
    for v in catalogue.load().variants:
        if v.assignment == aid:
            by_cell.setdefault(v.edit.get("cell", "*"), []).append(v)
    independent = []
    for i in range(max(len(v) for v in by_cell.values())):
        nb = copy.deepcopy(src)
        used = [vs[i] for vs in by_cell.values() if i < len(vs)]
        for v in used:
            catalogue.apply(nb, v)
        name = "v_" + "+".join(v.id for v in used)
        docs[name] = similarity.solution_code(nb)
        independent.append((name, nb))
    source, nb = independent[0]
    docs["copy_of_" + source] = renamed_and_reordered(nb)
    return docs, [n for n, _ in independent], source


@pytest.mark.parametrize("aid", COURSE.assignments)
def test_planted_copies_found_and_independent_variants_not(aid):
    docs, independent, source = cohort(aid)
    res = similarity.compare(docs, similarity.release_code(COURSE, aid), THRESHOLD,
                             COURSE.setting("SIMILARITY_COMMON_FRACTION"), assignment=aid)
    flagged = {(p.a, p.b) for p in res.pairs}
    copy_pair = tuple(sorted((source, "copy_of_" + source)))
    assert copy_pair in flagged, res.format()
    for a in independent + ["s01_reference"]:
        for b in independent:
            if a != b:
                assert tuple(sorted((a, b))) not in flagged, (a, b, res.scores)
    pair = next(p for p in res.pairs if (p.a, p.b) == copy_pair)
    assert pair.similarity >= THRESHOLD and "<mark>" in pair.html_a and "<mark>" in pair.html_b
    assert f"{copy_pair[0]} ~ {copy_pair[1]}" in res.format()


def test_short_answers_and_the_release_are_not_evidence():
    one_liner = "def sum_squared_error(y, t):\n    return 0.5 * np.sum((y - t) ** 2)\n"
    res = similarity.compare({"a": one_liner, "b": one_liner}, threshold=0.0)
    assert res.pairs == [] and res.students == []          # too short to compare
    release = similarity.release_code(COURSE, "a1_loss")
    res = similarity.compare({"a": release, "b": release}, release, threshold=0.0)
    assert res.pairs == []                                  # only the release's own code


def test_report_section_on_submitted_notebooks(tmp_path):
    course = Course.load(copy_course(ROOT, tmp_path / "course"))
    docs, independent, source = cohort("a1_loss")
    src = catalogue.as_submitted(course.read_source("a1_loss"))
    for student, code in [("s10", docs[source]), ("s11", docs["copy_of_" + source]),
                          ("s12", docs[independent[1]])]:
        nb = copy.deepcopy(src)
        cells = [c for c in nb.cells if catalogue.nbutils.is_solution(c) and c.cell_type == "code"]
        cells[0].source, rest = code, cells[1:]
        for c in rest:
            c.source = ""
        dest = course.submitted_dir(student, "a1_loss")
        dest.mkdir(parents=True)
        nbformat.write(nb, dest / "loss_functions.ipynb")
    res = similarity.find_similar(course, "a1_loss")
    assert [(p.a, p.b) for p in res.pairs] == [("s10", "s11")], res.scores
    (title, fragment), = similar_submissions(course, ["a1_loss"])
    assert "Similar submissions" in title and "s10 ~ s11" in fragment and "<mark>" in fragment


def test_student_code_is_escaped_in_every_pair_even_without_overlap():
    # copydetect returns the code unescaped when two files share nothing (threshold 0 lists them)
    payload = "# </pre><img src=x onerror=alert(1)>\n"
    a = "\n".join(f"def f{i}(alpha, beta):\n    return np.tanh(alpha * {i}) * np.cosh(beta) - 17\n"
                  for i in range(6))
    b = "\n".join(f"class Layer{i}:\n    def forward(self, x):\n"
                  f"        return np.maximum(0.0, x @ self.weights_matrix[{i}]) / len(x)\n"
                  for i in range(6))
    docs = {"a": payload + a, "b": payload + b}
    res = similarity.compare(docs, threshold=0.0)
    assert [(p.a, p.b) for p in res.pairs] == [("a", "b")] and res.pairs[0].similarity == 0.0
    for fragment in (res.pairs[0].html_a, res.pairs[0].html_b, res.html()):
        assert "<img" not in fragment and "&lt;img" in fragment


def test_exit_status_fails_only_for_unreadable_submissions(tmp_path, capsys):
    """Too little code is no failure (exit 0); a submission that cannot be read is (exit 1),
    named on stderr, as `nncourse grade` fails for it."""
    from nncourse.cli import main as cli_main
    course = Course.load(copy_course(ROOT, tmp_path / "course"))
    src = catalogue.as_submitted(course.read_source("a1_loss"))
    for student in ("s1", "s2", "s3_blank"):
        nb = copy.deepcopy(src)
        if student == "s3_blank":
            for c in nb.cells:
                if catalogue.nbutils.is_solution(c) and c.cell_type == "code":
                    c.source = ""
        dest = course.submitted_dir(student, "a1_loss")
        dest.mkdir(parents=True)
        nbformat.write(nb, dest / "loss_functions.ipynb")
    assert cli_main(["--course-dir", str(course.root), "similarity", "a1_loss"]) == 0
    out = capsys.readouterr()
    assert "not compared s3_blank: too little solution code" in out.out, out.out
    assert "could not be read" not in out.err, out.err

    broken = course.submitted_dir("s4_broken", "a1_loss")
    broken.mkdir(parents=True)
    (broken / "loss_functions.ipynb").write_bytes(b"{not json")
    assert cli_main(["--course-dir", str(course.root), "similarity", "a1_loss"]) == 1
    out = capsys.readouterr()
    assert "not compared s4_broken: no notebook read: loss_functions.ipynb is not a readable " \
           "notebook" in out.out, out.out
    assert "nncourse: 1 submission(s) could not be read and were not compared: s4_broken" \
        in out.err, out.err
