"""The grading report: grades.csv, score plots and one HTML page to read at a glance.

Scores come from the gradebook (the record nbgrader and formgrader use); statuses, test
messages and problems from the per-submission results that the workers wrote.
"""
import csv
import html
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .lock import GRADEBOOK_LOCK

CSV_FIELDS = ["student_id", "assignment", "status", "score", "max_score",
              "needs_manual_grade", "timestamp", "feedback"]
TOP_FAILURES = 10
FLAGGED_TITLE = "要確認 (Flagged): the grader's calls into the kernel failed"
FLAG_KINDS = {     # flag kind -> what happened (nncourse/grading/checks.py, execute.py)
    "timeout": "a check's call did not finish in time (an infinite loop, or a kernel that ignores the grader)",
    "protocol": "the kernel answered a check's call with something that is not a reply "
                "(IPython or the call server changed, or data over the size limits)",
    "died": "the kernel died during a check's call",
    "grader_error": "a hidden check crashed (a bug in autograders/, not the student's fault)",
}
FLAGGED_NOTE = ("Often an honest bug (an endless loop); tampering with the kernel shows up here too. "
                "No point was given for these cells.")


@dataclass
class Report:
    """Where the report went, and the table it shows."""
    directory: Path
    html: Path
    csv: Path
    plots: list = field(default_factory=list)
    rows: list = field(default_factory=list)          # CSV rows (dicts)
    assignments: list = field(default_factory=list)

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
        for student, row in sorted(self.table().items()):
            cells, total, total_max = [], 0.0, 0.0
            for a in aids:
                score, max_score, status = row.get(a, (0.0, 0.0, "missing"))
                mark = {"graded": "", "failed": "!", "missing": "-"}.get(status, "?")
                cells.append(f"{score:g}/{max_score:g}{mark}".rjust(max(len(a), 9)))
                total, total_max = total + score, total_max + max_score
            lines.append("  ".join([student.ljust(width)] + cells
                                   + [f"{total:g}/{total_max:g}".rjust(9)]))
        lines.append("(! = could not be graded, - = no submission)")
        return "\n".join(lines)


def gradebook_scores(course, aids):
    """{(student, aid): {score, max_score, needs_manual_grade, timestamp}} from the gradebook."""
    from nbgrader.api import Gradebook
    out = {}
    with GRADEBOOK_LOCK, Gradebook(course.db_url, course.course_id) as gb:
        for aid in aids:
            try:
                assignment = gb.find_assignment(aid)
            except Exception:
                continue
            for sub in assignment.submissions:
                out[(sub.student.id, aid)] = {
                    "score": float(sub.score or 0), "max_score": float(sub.max_score or 0),
                    "needs_manual_grade": bool(sub.needs_manual_grade),
                    "timestamp": sub.timestamp.isoformat() if sub.timestamp else ""}
    return out


def _load_results(course, aids):
    from .grading.worker import result_path
    results = {}
    for aid in aids:
        for student in course.students([aid]):
            try:
                results[(student, aid)] = json.loads(
                    result_path(course, aid, student).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                pass
    return results


def _plots(directory, aids, rows, exercise_stats):
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    paths = []
    by_student = defaultdict(float)
    for aid in aids + ["total"]:
        if aid == "total":
            for r in rows:
                by_student[r["student_id"]] += r["score"]
            scores = list(by_student.values())
            max_score = sum(max((r["max_score"] for r in rows if r["assignment"] == a),
                                default=0) for a in aids)
        else:
            scores = [r["score"] for r in rows if r["assignment"] == aid]
            max_score = max((r["max_score"] for r in rows if r["assignment"] == aid), default=0)
        if not scores:
            continue
        fig, ax = plt.subplots(figsize=(4.5, 3))
        bins = max(1, min(20, int(max_score) + 1)) if max_score else 10
        ax.hist(scores, bins=bins, range=(0, max_score or 1), color="#4878a8", edgecolor="white")
        ax.set_title(f"{aid}: score distribution (n={len(scores)})", fontsize=10)
        ax.set_xlabel(f"score (max {max_score:g})")
        ax.set_ylabel("students")
        fig.tight_layout()
        path = directory / f"scores_{aid}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    if exercise_stats:
        labels = [f"{a}/{g}" for (a, g) in exercise_stats]
        rates = [s["full"] / s["n"] if s["n"] else 0 for s in exercise_stats.values()]
        fig, ax = plt.subplots(figsize=(6, 0.35 * len(labels) + 1.2))
        ax.barh(labels[::-1], rates[::-1], color="#59a14f")
        ax.set_xlim(0, 1)
        ax.set_xlabel("fraction of students with full marks")
        ax.set_title("per exercise", fontsize=10)
        fig.tight_layout()
        path = directory / "exercises.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths


def write_report(course, aids, jobs=None, sections=(), warnings=()):
    """Write reports/<aid or all>/{grades.csv, report.html, *.png}; returns a Report.

    ``sections``: extra (title, html fragment) pairs shown before the score plots, e.g. the
    mutant/variant table of ``autograders.catalogue``."""
    directory = course.root / "reports" / (aids[0] if len(aids) == 1 else "all")
    directory.mkdir(parents=True, exist_ok=True)
    scores = gradebook_scores(course, aids)
    results = _load_results(course, aids)
    rows = []
    for (student, aid), res in sorted(results.items()):
        gb = scores.get((student, aid), {})
        rows.append({"student_id": student, "assignment": aid, "status": res["status"],
                     "score": gb.get("score", 0.0),
                     "max_score": gb.get("max_score", res.get("max_score", 0.0)),
                     "needs_manual_grade": gb.get("needs_manual_grade", False),
                     "timestamp": gb.get("timestamp", ""),
                     "feedback": ";".join(res.get("feedback", []))})
    csv_path = directory / "grades.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        w.writeheader()
        w.writerows(rows)

    exercise_stats = {}                  # (aid, grade_id) -> {points, n, full, total}
    failures = Counter()
    failure_students = defaultdict(list)
    problems = []
    for (student, aid), res in sorted(results.items()):
        for cell in res.get("cells", []):
            if cell["kind"] != "auto":
                continue
            s = exercise_stats.setdefault((aid, cell["grade_id"]),
                                          {"points": cell["max_score"], "n": 0, "full": 0, "total": 0.0})
            s["n"] += 1
            s["total"] += cell["score"]
            s["full"] += cell["score"] >= cell["max_score"]
            if cell["score"] < cell["max_score"]:
                key = (aid, cell["grade_id"], cell.get("message") or "(no message)")
                failures[key] += 1
                failure_students[key].append(student)
        problems += [(student, aid, p) for p in res.get("problems", [])]
    plots = _plots(directory, aids, rows, exercise_stats)
    from .lms.sections import late_penalties, similar_submissions
    late = late_penalties(course, aids, scores)               # late-penalty section
    sections = list(sections) + ([late] if late else [])
    sections += similar_submissions(course, aids)             # similarity section
    report = Report(directory, directory / "report.html", csv_path, plots, rows, aids)
    report.html.write_text(_html(course, report, results, exercise_stats, failures,
                                 failure_students, problems, jobs, sections, warnings),
                           encoding="utf-8")
    return report


def _esc(x):
    return html.escape(str(x))


def _html(course, report, results, exercise_stats, failures, failure_students, problems, jobs,
          sections=(), warnings=()):
    aids = report.assignments
    table = report.table()
    not_graded = [(s, a, r.get("error") or "") for (s, a), r in sorted(results.items())
                  if r["status"] != "graded"]
    out = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Grading report: "
           f"{_esc(course.course_id)}</title><style>"
           "body{font-family:sans-serif;margin:2em;max-width:1100px}"
           "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
           "padding:3px 8px;text-align:right}td.l,th.l{text-align:left}"
           ".full{background:#e3f4e1}.zero{background:#fbe3e1}.fail{background:#f8c9c4}"
           ".warn{color:#b00}img{margin:4px;border:1px solid #eee}</style></head><body>",
           f"<h1>Grading report — {_esc(course.course_id)}</h1>",
           f"<p>{datetime.now():%Y-%m-%d %H:%M} · assignments: {_esc(', '.join(aids))} · "
           f"{len(table)} students · {len(results)} submissions · "
           f"<b>{len(not_graded)} could not be graded</b> · "
           f"<a href='{report.csv.name}'>{report.csv.name}</a></p>"]
    out += [f"<h2 class='warn'>{_esc(w)}</h2>" for w in warnings]
    if not_graded:
        out.append("<h2 class='warn'>Could not be graded</h2><table><tr><th class='l'>student"
                   "</th><th class='l'>assignment</th><th class='l'>reason</th></tr>")
        out += [f"<tr><td class='l'>{_esc(s)}</td><td class='l'>{_esc(a)}</td>"
                f"<td class='l'><pre>{_esc(e)}</pre></td></tr>" for s, a, e in not_graded]
        out.append("</table>")
    out.append("<h2>Scores per student</h2><table><tr><th class='l'>student</th>"
               + "".join(f"<th>{_esc(a)}</th>" for a in aids) + "<th>total</th></tr>")
    for student, row in sorted(table.items()):
        cells, tot, tot_max = [], 0.0, 0.0
        for a in aids:
            score, mx, status = row.get(a, (0.0, 0.0, "missing"))
            cls = ("fail" if status == "failed" else "full" if mx and score >= mx
                   else "zero" if score == 0 else "")
            label = {"failed": " (not graded)", "missing": " (none)"}.get(status, "")
            cells.append(f"<td class='{cls}'>{score:g} / {mx:g}{label}</td>")
            tot, tot_max = tot + score, tot_max + mx
        out.append(f"<tr><td class='l'>{_esc(student)}</td>{''.join(cells)}"
                   f"<td><b>{tot:g} / {tot_max:g}</b></td></tr>")
    out.append("</table>")
    out.append("<h2>Scores per exercise (autograded tests)</h2><table><tr><th class='l'>"
               "assignment</th><th class='l'>test</th><th>points</th><th>mean</th>"
               "<th>full marks</th></tr>")
    for (aid, gid), s in exercise_stats.items():
        out.append(f"<tr><td class='l'>{_esc(aid)}</td><td class='l'>{_esc(gid)}</td>"
                   f"<td>{s['points']:g}</td><td>{s['total'] / s['n']:.2f}</td>"
                   f"<td>{s['full']}/{s['n']}</td></tr>")
    out.append("</table><h2>Most frequent failures</h2><table><tr><th>count</th>"
               "<th class='l'>assignment / test</th><th class='l'>message</th>"
               "<th class='l'>students</th></tr>")
    for (aid, gid, msg), n in failures.most_common(TOP_FAILURES):
        who = failure_students[(aid, gid, msg)]
        out.append(f"<tr><td>{n}</td><td class='l'>{_esc(aid)} / {_esc(gid)}</td>"
                   f"<td class='l'>{_esc(msg)}</td><td class='l'>{_esc(', '.join(who[:5]))}"
                   f"{' …' if len(who) > 5 else ''}</td></tr>")
    out.append("</table>")
    if problems:
        out.append("<h2 class='warn'>Time limits and crashes</h2><table><tr><th class='l'>"
                   "student</th><th class='l'>assignment</th><th class='l'>message</th></tr>")
        out += [f"<tr><td class='l'>{_esc(s)}</td><td class='l'>{_esc(a)}</td>"
                f"<td class='l'>{_esc(p)}</td></tr>" for s, a, p in problems]
        out.append("</table>")
    flagged = [(s, a, f) for (s, a), r in sorted(results.items()) for f in r.get("flags") or []]
    if flagged:
        out.append(f"<h2 class='warn'>{FLAGGED_TITLE}</h2><p>{_esc(FLAGGED_NOTE)}</p>"
                   "<table><tr><th class='l'>student</th><th class='l'>assignment</th>"
                   "<th class='l'>cell</th><th class='l'>what happened</th><th>times</th></tr>")
        out += [f"<tr><td class='l'>{_esc(s)}</td><td class='l'>{_esc(a)}</td>"
                f"<td class='l'>{_esc(f.get('cell', ''))}</td><td class='l'>"
                f"{_esc(FLAG_KINDS.get(f.get('kind'), f.get('kind', '')))}"
                f": {_esc(f.get('detail', ''))}</td><td>{int(f.get('count', 1))}</td></tr>"
                for s, a, f in flagged]
        out.append("</table>")
    for title, fragment in sections:
        out.append(f"<h2>{_esc(title)}</h2>{fragment}")
    out.append("<h2>Score distributions</h2>")
    out += [f"<img src='{p.name}' alt='{_esc(p.stem)}'>" for p in report.plots]
    out.append(f"<p><small>feedback: {_esc(course.root / 'feedback')} · "
               f"jobs: {jobs or '-'}</small></p></body></html>")
    return "\n".join(out)
