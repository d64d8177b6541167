"""The report's CSV files: grades.csv (one row per submission), students.csv (one row per
student), exercises.csv (one column per grade cell)."""
from collections import Counter

from ..core.safetext import CsvDictWriter, csv_writer

CSV_FIELDS = ["student_id", "assignment", "status", "score", "max_score",
              "needs_manual_grade", "timestamp", "feedback"]
GRADES_CSV = "grades.csv"         # one row per submission (``data.grade_rows``)
STUDENTS_CSV = "students.csv"      # one row per student: auto, manual, total, pending per assignment
EXERCISES_CSV = "exercises.csv"    # one row per student, one column per grade cell


def write_grades_csv(path, rows):
    """grades.csv: ``rows`` (``data.grade_rows``), CSV_FIELDS then auto, manual and pending."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = CsvDictWriter(f, fieldnames=CSV_FIELDS + ["auto_score", "manual_score",
                                                       "pending_manual"])
        w.writeheader()
        w.writerows(rows)


def _num(x):
    return f"{x:g}"


def write_student_csv(path, aids, subs):
    """One row per student: per assignment auto, manual, total, max, pending; then totals."""
    fields = ["student_id"]
    for a in aids:
        fields += [f"{a}_status", f"{a}_auto", f"{a}_manual", f"{a}_total", f"{a}_max",
                   f"{a}_pending_manual", f"{a}_pending_cells", f"{a}_manual_changed"]
    fields += ["total_auto", "total_manual", "total", "total_max", "pending_manual"]
    students = sorted({s for s, _ in subs})
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = CsvDictWriter(f, fieldnames=fields)
        w.writeheader()
        for student in students:
            row, t = {"student_id": student}, Counter()
            for a in aids:
                sub = subs.get((student, a))
                if sub is None:
                    row[f"{a}_status"] = "missing"
                    continue
                row.update({f"{a}_status": sub.status, f"{a}_auto": _num(sub.auto),
                            f"{a}_manual": _num(sub.manual), f"{a}_total": _num(sub.total),
                            f"{a}_max": _num(sub.max_score),
                            f"{a}_pending_manual": str(bool(sub.pending)),
                            f"{a}_pending_cells": ";".join(g for g, _ in sub.pending),
                            f"{a}_manual_changed": ";".join(sub.changed)})
                t.update(auto=sub.auto, manual=sub.manual, total=sub.total, max=sub.max_score,
                         pending=len(sub.pending))
            row.update(total_auto=_num(t["auto"]), total_manual=_num(t["manual"]),
                       total=_num(t["total"]), total_max=_num(t["max"]),
                       pending_manual=str(t["pending"] > 0))
            w.writerow(row)


def write_exercise_csv(path, aids, subs):
    """One row per student, one column per grade cell ("<assignment>/<grade_id>"); the first
    row gives each cell's maximum.  Empty: no submission (or not graded); "pending": a
    written answer still waiting for the teacher."""
    columns = []                       # (aid, gid) in notebook order
    for a in aids:
        for (s, aid), sub in sorted(subs.items()):
            if aid == a:
                for c in sub.cells:
                    if (a, c["grade_id"]) not in columns:
                        columns.append((a, c["grade_id"]))
    maxima = {}
    for sub in subs.values():
        for c in sub.cells:
            maxima[(sub.aid, c["grade_id"])] = float(c.get("max_score", c.get("points", 0)))
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv_writer(f)
        w.writerow(["student_id"] + [f"{a}/{g}" for a, g in columns])
        w.writerow(["(max)"] + [_num(maxima[k]) for k in columns])
        for student in sorted({s for s, _ in subs}):
            row = [student]
            for a, g in columns:
                sub = subs.get((student, a))
                cell = next((c for c in sub.cells if c["grade_id"] == g), None) if sub else None
                if cell is None:
                    row.append("")
                elif any(p == g for p, _ in sub.pending):
                    row.append("pending")
                else:
                    row.append(_num(float(cell.get("score", 0))))
            w.writerow(row)
