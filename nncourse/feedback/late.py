"""The late-penalty sentence of a submission's feedback (Japanese; ``lms/deadlines.py`` decides
the penalty)."""
import os

from ..core.course import Course
from ..core.gradebook import gradebook_scores
from ..lms import deadlines


def late_note_here(student, aid):
    """The late note of a submission of the course in the current directory (stock nbgrader
    runs there)."""
    if not (student and aid):
        return ""
    try:
        return late_note(Course.load(os.getcwd()), aid, student)
    except Exception:        # no course here, no deadline settings: no note
        return ""


def late_note(course, aid, student):
    """The late-penalty sentence for a submission ("" when on time or without a deadline)."""
    try:
        p = deadlines.penalty(course, aid, student)
    except deadlines.DeadlineError:
        return ""
    if not p.late:
        return ""
    gb = gradebook_scores(course, [aid]).get((student, aid), {})
    return p.note_ja(gb.get("score"), gb.get("max_score"), deadlines.timezone_of(course))
