"""What the report shows, as data: each submission as the teacher needs it (``Submission``:
auto and manual points, pending written answers, each cell's outcome), the cohort's mistakes
and per-exercise statistics (``Analysis``), and the score table (``Report``)."""
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ..results import MISTAKE, NOT_ATTEMPTED, NOT_RUN_OUTCOME, PASSED, mistake_key, outcome


@dataclass
class Report:
    """Where the report went, and the table it shows."""
    directory: Path
    html: Path
    csv: Path
    plots: list = field(default_factory=list)
    rows: list = field(default_factory=list)          # CSV rows (dicts)
    assignments: list = field(default_factory=list)
    students_csv: Path = None                         # students.csv (one row per student)
    exercises_csv: Path = None                        # exercises.csv (one column per grade cell)
    plot_alts: dict = field(default_factory=dict)     # plot file name -> what it shows (alt)

    def table(self):
        """{student: {aid: (score, max_score, status)}}"""
        t = defaultdict(dict)
        for r in self.rows:
            t[r["student_id"]][r["assignment"]] = (r["score"], r["max_score"], r["status"])
        return dict(t)

    def format_table(self):
        """The score table as text (what ``grade`` and ``demo`` print)."""
        aids = self.assignments
        width = max([len("student")] + [len(s) for s in self.table()])
        lines = ["  ".join(["student".ljust(width)] + [a.rjust(max(len(a), 9)) for a in aids]
                           + ["total".rjust(9)])]
        pending = {(r["student_id"], r["assignment"]) for r in self.rows if r.get("pending_manual")}
        for student, row in sorted(self.table().items()):
            cells, total, total_max = [], 0.0, 0.0
            for a in aids:
                score, max_score, status = row.get(a, (0.0, 0.0, "missing"))
                mark = {"graded": "", "failed": "!", "missing": "-"}.get(status, "?")
                mark += "*" if (student, a) in pending else ""
                cells.append(f"{score:g}/{max_score:g}{mark}".rjust(max(len(a), 9)))
                total, total_max = total + score, total_max + max_score
            lines.append("  ".join([student.ljust(width)] + cells
                                   + [f"{total:g}/{total_max:g}".rjust(9)]))
        lines.append("(! = could not be graded, - = no submission"
                     + (", * = written answers still to be graded by hand)" if pending else ")"))
        return "\n".join(lines)


@dataclass
class Submission:
    """One student's result on one assignment, as the teacher needs it."""
    student: str
    aid: str
    status: str                         # graded | failed
    auto: float = 0.0
    auto_max: float = 0.0
    manual: float = 0.0                 # points of the written answers graded so far
    manual_max: float = 0.0
    total: float = 0.0
    max_score: float = 0.0
    pending: list = field(default_factory=list)      # [(grade_id, points)] waiting for the teacher
    changed: list = field(default_factory=list)      # grade_ids re-flagged: answer changed since graded
    unanswered: list = field(default_factory=list)   # written answers left empty / as released
    graded: list = field(default_factory=list)       # [(grade_id, score, max, comment)] by the teacher
    cells: list = field(default_factory=list)        # result cells with live scores

    @property
    def pending_points(self):
        return sum(p for _, p in self.pending)


def submissions(results, scores):
    """{(student, aid): Submission} from the result records and the gradebook's live grades."""
    out = {}
    for (student, aid), res in sorted(results.items()):
        gb = scores.get((student, aid), {})
        live = gb.get("grades") or {}
        sub = Submission(student, aid, res.get("status", "failed"),
                         total=float(gb.get("score", res.get("score", 0.0)) or 0.0),
                         max_score=float(gb.get("max_score", res.get("max_score", 0.0)) or 0.0))
        pending_ids = set(res.get("pending_manual") or ())
        sub.changed = list(res.get("manual_changed") or ())
        for cell in res.get("cells", []):
            cell = dict(cell)
            g = live.get(cell["grade_id"])
            if g is not None:
                cell.update(score=g["score"], max_score=g["max_score"],
                            needs_manual_grade=g["needs_manual_grade"])
            mx = float(cell.get("max_score", cell.get("points", 0.0)))
            score = float(cell.get("score", 0.0))
            waiting = bool(cell.get("needs_manual_grade")) if g is not None or not pending_ids \
                else cell["grade_id"] in pending_ids
            if cell["kind"] == "manual":
                sub.manual_max += mx
                if waiting:
                    sub.pending.append((cell["grade_id"], mx))
                else:
                    sub.manual += score
                    if g is not None and g.get("manual_score") is not None:
                        sub.graded.append((cell["grade_id"], score, mx, (gb.get("comments") or {})
                                           .get(cell["grade_id"], "")))
                if cell.get("unanswered") and not waiting:
                    sub.unanswered.append(cell["grade_id"])
            else:
                sub.auto_max += mx
                sub.auto += score
                if waiting:               # an autograded cell whose score the teacher changed
                    sub.pending.append((cell["grade_id"], mx))
            cell["outcome"] = outcome(cell, {f.get("cell") for f in res.get("flags") or []}) \
                if cell["kind"] == "auto" else (NOT_ATTEMPTED if cell.get("unanswered") else "")
            sub.cells.append(cell)
        if not gb and res.get("cells"):
            sub.total = sub.auto + sub.manual
            sub.max_score = sub.auto_max + sub.manual_max
        out[(student, aid)] = sub
    return out


@dataclass
class Analysis:
    """The cohort's mistakes, not-attempted exercises and per-exercise statistics."""
    exercises: dict          # (aid, gid) -> {points, n, full, total, outcomes: Counter, mistakes: Counter}
    mistakes: dict           # (aid, key) -> {"cells": set, "students": [..], "example": message}
    not_attempted: dict      # (aid, gid) -> [students]
    not_run: dict            # (aid, gid) -> [students]


def analyse(subs):
    exercises, mistakes = {}, {}
    not_attempted, not_run = defaultdict(list), defaultdict(list)
    for (student, aid), sub in sorted(subs.items()):
        for cell in sub.cells:
            gid = cell["grade_id"]
            if cell["kind"] != "auto":
                if cell.get("outcome") == NOT_ATTEMPTED:
                    not_attempted[(aid, gid)].append(student)
                continue
            mx = float(cell.get("max_score", cell.get("points", 0)))
            e = exercises.setdefault((aid, gid), {"points": mx, "n": 0, "full": 0, "total": 0.0,
                                                  "outcomes": Counter(), "bars": Counter(),
                                                  "mistakes": Counter()})
            e["n"] += 1
            e["total"] += float(cell.get("score", 0))
            kind = cell.get("outcome", PASSED)
            e["outcomes"][kind] += 1
            e["bars"]["partial" if kind == MISTAKE and float(cell.get("score", 0)) > 0
                      else kind] += 1
            e["full"] += kind == PASSED
            if kind == MISTAKE:
                key = mistake_key(cell)
                m = mistakes.setdefault((aid, key), {"cells": [], "students": [],
                                                     "example": cell.get("message") or ""})
                if gid not in m["cells"]:
                    m["cells"].append(gid)
                if student not in m["students"]:
                    m["students"].append(student)
                e["mistakes"][key] += 1
            elif kind == NOT_ATTEMPTED:
                not_attempted[(aid, gid)].append(student)
            elif kind == NOT_RUN_OUTCOME:
                not_run[(aid, gid)].append(student)
    return Analysis(exercises, mistakes, dict(not_attempted), dict(not_run))


def ranked_mistakes(analysis):
    return sorted(analysis.mistakes.items(), key=lambda kv: (-len(kv[1]["students"]), kv[0]))


def grade_rows(results, scores, subs):
    """The rows of grades.csv (and ``Report.rows``): one per submission, sorted."""
    rows = []
    for (student, aid), res in sorted(results.items()):
        gb = scores.get((student, aid), {})
        sub = subs[(student, aid)]
        rows.append({"student_id": student, "assignment": aid, "status": res["status"],
                     "score": gb.get("score", 0.0),
                     "max_score": gb.get("max_score", res.get("max_score", 0.0)),
                     "needs_manual_grade": gb.get("needs_manual_grade", False),
                     "timestamp": gb.get("timestamp", ""),
                     "feedback": ";".join(res.get("feedback", [])),
                     "auto_score": sub.auto, "manual_score": sub.manual,
                     "pending_manual": ";".join(g for g, _ in sub.pending)})
    return rows
