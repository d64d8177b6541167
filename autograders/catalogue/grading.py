"""Grade the catalogues through the real pipeline: a cohort of edited submissions, then
``nncourse.grade.run.grade`` (nbgrader autograde, one worker per student, ``jobs`` at once).

Each student submits one catalogue entry per assignment: student ``k00`` gets the first
entry of every assignment, ``k01`` the second, …  so a worker process (a few seconds to
start) grades up to four entries and every worker has about the same work.
``outcome`` then reads what each entry lost from the run's result records and the full
failure output from the autograded notebooks.

    python -m autograders.catalogue.grading [DEST] [--jobs 2]   # copy, build, grade, report
"""
import argparse
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from nncourse.build import build, ensure_built, release_notebook
from nncourse.cohort import reference_submission
from nncourse.core.course import Course, copy_course
from nncourse.grade.run import grade

from . import apply, load
from .report import catalogue_report, write_catalogue_report

PREFIX = "k"            # student ids k00, k01, …


def plan(catalogue, aids):
    """{(student, aid): entry}: the i-th entry of each assignment goes to student i."""
    out = {}
    for aid in aids:
        for i, e in enumerate(catalogue.by_assignment(aid)):
            out[(f"{PREFIX}{i:02d}", aid)] = e
    return out


def write_submissions(course, catalogue, aids=None):
    """submitted/<student>/<aid>/<notebook>.ipynb for every entry; returns the plan."""
    aids = course.select(aids)
    ensure_built(course, aids)
    todo = plan(catalogue, aids)
    texts = {}
    for (student, aid), e in todo.items():        # apply everything before writing anything
        nb = apply(reference_submission(course, aid), e)
        texts[(student, aid)] = (release_notebook(course, aid).name, nbformat.writes(nb))
    for (student, aid), (name, text) in texts.items():
        dest = course.submitted_dir(student, aid)
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        (dest / name).write_text(text, encoding="utf-8")
    return todo


def grade_catalogue(course, catalogue=None, aids=None, jobs=2, progress=False):
    """Write the cohort, grade it with nncourse and write ``catalogue.md`` next to the
    grading report; returns (run, [Outcome])."""
    catalogue = catalogue or load()
    aids = course.select(aids)
    write_submissions(course, catalogue, aids)
    run = grade(course, aids, jobs=jobs, force=True, progress=progress,
                report_sections=lambda run: [("Mutants and variants", catalogue_report(
                    evaluate(run, catalogue, course), fmt="html"))])
    outcomes = evaluate(run, catalogue, course)
    write_catalogue_report(run, course, outcomes)
    return run, outcomes


# --- what each entry lost ---------------------------------------------------------------
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def failure_outputs(course, student, aid):
    """{grade_id: full text of the cell's errors and stderr} of an autograded notebook."""
    out = {}
    for path in sorted(course.autograded_dir(student, aid).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if not gid or cell.cell_type != "code":
                continue
            parts = []
            for o in cell.get("outputs", []):
                if o.get("output_type") == "error":
                    parts.append(f"{o.get('ename')}: {o.get('evalue')}")
                    parts += [_ANSI.sub("", t) for t in o.get("traceback", [])]
                elif o.get("output_type") == "stream" and o.get("name") == "stderr":
                    parts.append(o.get("text", ""))
            out[gid] = "\n".join(parts)
    return out


@dataclass
class Outcome:
    """What one entry's submission got, and whether that is what the catalogue expects."""
    entry: object
    student: str
    status: str                                   # "graded" | "failed" | "missing"
    lost: dict = field(default_factory=dict)      # autograded grade_id -> points lost
    messages: dict = field(default_factory=dict)  # grade_id -> short message (result record)
    outputs: dict = field(default_factory=dict)   # grade_id -> full failure output
    score: float = 0.0
    auto_max: float = 0.0

    @property
    def message_found(self):
        """The mutant's ``message`` is in the failure output of one of the lost cells."""
        return any(self.entry.message in self.outputs.get(g, "") or
                   self.entry.message in (self.messages.get(g) or "") for g in self.lost)

    @property
    def problems(self):
        """Why this outcome is not what the catalogue says (empty list: as expected)."""
        e, out = self.entry, []
        if self.status != "graded":
            return [f"not graded ({self.status})"]
        if e.kind == "variant":
            return [f"lost {p:g} on {g}" for g, p in self.lost.items()]
        if not self.lost:
            return ["keeps full marks: no hidden test catches it"]
        if set(self.lost) - set(e.loses):
            out.append(f"also loses {sorted(set(self.lost) - set(e.loses))}")
        if set(e.loses) - set(self.lost):
            out.append(f"keeps full marks on {sorted(set(e.loses) - set(self.lost))}")
        if not self.message_found:
            out.append(f"message {e.message!r} not in the failure output")
        return out

    @property
    def caught_by(self):
        """'hidden' (an autograders check), 'visible' (an assert of the test cell), or the
        name of the exception of the first lost cell."""
        if not self.lost:
            return ""
        first = self.messages.get(next(iter(self.lost))) or ""
        name = first.split(":", 1)[0]
        return {"CheckFailed": "hidden", "AssertionError": "visible"}.get(name, name)


def evaluate(run, catalogue, course):
    """One Outcome per catalogue entry of the assignments graded in ``run``."""
    results = {(r["student"], r["assignment"]): r for r in run.results}
    aids = sorted({a for _, a in results}, key=course.assignments.index)
    outcomes = []
    for (student, aid), e in plan(catalogue, aids).items():
        r = results.get((student, aid))
        if r is None:
            outcomes.append(Outcome(e, student, "missing"))
            continue
        auto = [c for c in r["cells"] if c["kind"] == "auto"]
        o = Outcome(e, student, r["status"], score=sum(c["score"] for c in auto),
                    auto_max=sum(c["max_score"] for c in auto))
        for c in auto:                              # notebook order
            if c["score"] < c["max_score"]:
                o.lost[c["grade_id"]] = c["max_score"] - c["score"]
                o.messages[c["grade_id"]] = c.get("message")
        o.outputs = failure_outputs(course, student, aid)
        outcomes.append(o)
    return outcomes


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m autograders.catalogue.grading")
    p.add_argument("dest", nargs="?", default="catalogue-run",
                   help="folder for a copy of the course (replaced if it exists)")
    p.add_argument("--course-dir", default=".")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--assignment", action="append")
    args = p.parse_args(argv)
    dest = Path(args.dest).resolve()
    if dest.exists():
        shutil.rmtree(dest)
    course = Course.load(copy_course(Path(args.course_dir).resolve(), dest))
    build(course)
    catalogue = load()
    run, outcomes = grade_catalogue(course, catalogue, args.assignment, jobs=args.jobs,
                                    progress=True)
    print(catalogue_report(outcomes))
    return 1 if any(o.problems for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
