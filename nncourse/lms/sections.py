"""The report's LMS sections: late penalties, similar submissions (``report.write_report``)."""
import html

from . import deadlines
from .similarity import find_similar


def _esc(x):
    return html.escape(str(x))


def late_penalties(course, aids, scores):
    """(title, html) of the late submissions of ``aids``, or None when there is none.

    ``scores``: {(student, aid): {"score", "max_score", …}} from the gradebook."""
    try:
        ext = deadlines.extensions(course)
        tz = deadlines.timezone_of(course)
        pol = deadlines.policy(course)
    except deadlines.DeadlineError as exc:
        return "遅延提出 (Late submissions)", f"<p class='warn'>{_esc(exc)}</p>"
    rows = []
    for aid in aids:
        for student in course.students([aid]):
            p = deadlines.penalty(course, aid, student, ext)
            if p.late:
                gb = scores.get((student, aid), {})
                rows.append((student, aid, p, gb.get("score", 0.0), gb.get("max_score", 0.0)))
    if not rows:
        return None
    fmt = lambda d: d.astimezone(tz).strftime("%Y-%m-%d %H:%M") if d else "unknown (LMS: late)"
    rule = {"none": "no penalty", "zero": "late = 0 points",
            "per_day": f"{pol['percent_per_day']:g}% per started day, at least "
                       f"{pol['floor_percent']:g}% of the score kept"}[pol["policy"]]
    out = [f"<p>Policy: {_esc(rule)} (course_config.LATE_PENALTY). The exported grade "
           "(<code>nncourse export</code>) has the penalty applied; the student's feedback says it "
           "in Japanese.</p><table><tr><th class='l'>student</th><th class='l'>assignment</th>"
           "<th class='l'>submitted</th><th class='l'>due</th><th>days late</th><th>penalty</th>"
           "<th>score</th><th>after penalty</th></tr>"]
    for student, aid, p, score, mx in rows:
        out.append(f"<tr><td class='l'>{_esc(student)}</td><td class='l'>{_esc(aid)}</td>"
                   f"<td class='l'>{_esc(fmt(p.submitted_at))}</td><td class='l'>{_esc(fmt(p.due))}</td>"
                   f"<td>{p.days_late}</td><td>{p.percent:g}%</td><td>{score:g} / {mx:g}</td>"
                   f"<td><b>{p.apply(score):g}</b> / {mx:g}</td></tr>")
    out.append("</table>")
    return "遅延提出 (Late submissions)", "".join(out)


def similar_submissions(course, aids):
    """[(title, html)] of the similarity comparison, one per assignment with submissions."""
    out = []
    for aid in aids:
        try:
            res = find_similar(course, aid)
        except Exception as exc:          # the report is written anyway
            out.append((f"似ている提出 (Similar submissions): {aid}",
                        f"<p class='warn'>not compared: {_esc(type(exc).__name__)}: {_esc(exc)}</p>"))
            continue
        if len(res.students) >= 2 or res.not_compared:
            out.append((f"似ている提出 (Similar submissions): {aid}", res.html()))
    return out
