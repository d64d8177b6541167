"""Manual grades (手動採点): what the teacher entered in formgrader survives every regrade.

nbgrader's ``SaveAutoGrades`` marks every written answer, and every cell whose score a grader
overrode, as "needs manual grade" again on each autograde, so ``nncourse grade --force`` or a
resubmission made the teacher's work look undone.  nbgrader never resets the score or the
comment itself; only the flag.  Here the flag follows the answer's text instead:

- a manual score stands for the answer text it was given to: the text of the autograded
  notebook that formgrader showed when the teacher saved it (a score is "confirmed" once the
  gradebook has it with ``needs_manual_grade`` false);
- after an autograde, a manual score whose answer text is unchanged stays graded
  (``needs_manual_grade`` false); one whose text changed is flagged again and listed as
  ``manual_changed`` in the submission's result record (and so in the report).

"Text" is the answer cell's source (line ends and trailing spaces ignored) for a written
answer or task; for an autograded test cell that the teacher overrode, the text of all the
notebook's answer cells (what the test judged).  The state lives in
``autograded/.nncourse/manual/<assignment>/<student>.json``:
``{"answers": {key: digest of the text last autograded}, "graded": {key: digest of the text
the confirmed manual score is for}}``, keys ``<notebook>/<grade_id>``.
"""
import hashlib
import json

import nbformat
from nbgrader import utils as nbutils

from .core.files import atomic_write
from .core.gradebook import find_submission, session
from .lms.deadlines import DeadlineError, extensions, late_key
from .core.lock import GRADEBOOK_LOCK
from .core.records import load_result


def _normalize(text):
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip()


def _digest(text):
    return hashlib.sha256(_normalize(text).encode("utf-8")).hexdigest()[:32]


def answer_digests(nb, notebook):
    """{"<notebook>/<grade_id>": digest of the text its grade is about} for a notebook."""
    cells = [c for c in nb.cells if "nbgrader" in c.get("metadata", {})]
    answers = "\n\0\n".join(c.source for c in cells if nbutils.is_solution(c))
    out = {}
    for cell in cells:
        if not (nbutils.is_grade(cell) or nbutils.is_task(cell)):
            continue
        gid = cell.metadata.nbgrader.get("grade_id")
        own = nbutils.is_solution(cell) or nbutils.is_task(cell)
        out[f"{notebook}/{gid}"] = _digest(cell.source if own else answers)
    return out


def autograded_digests(course, aid, student):
    """answer_digests of the autograded notebooks on disk (what formgrader shows)."""
    out = {}
    for path in sorted(course.autograded_dir(student, aid).glob("*.ipynb")):
        try:
            out.update(answer_digests(nbformat.read(path, as_version=4), path.stem))
        except Exception:      # an unreadable file: no digests, so nothing counts as unchanged
            continue
    return out


def state_path(course, aid, student):
    return course.state_dir / "manual" / aid / f"{student}.json"


def load_state(course, aid, student):
    try:
        state = json.loads(state_path(course, aid, student).read_text(encoding="utf-8"))
        return {"answers": dict(state.get("answers", {})), "graded": dict(state.get("graded", {}))}
    except (OSError, ValueError, AttributeError):
        return {"answers": {}, "graded": {}}


def save_state(course, aid, student, state):
    atomic_write(state_path(course, aid, student), json.dumps(state, indent=1, sort_keys=True))


def _grades(gb, aid, student):
    """{"<notebook>/<grade_id>": Grade} of a submission ({} when the gradebook has none)."""
    sub = find_submission(gb, aid, student)
    if sub is None:
        return {}
    return {f"{nb.name}/{g.name}": g for nb in sub.notebooks for g in nb.grades}


def before_autograde(course, aid, student, gb=None):
    """Record which manual scores the teacher has confirmed, and for which text; call it just
    before nbgrader's Autograde replaces the autograded notebooks.  Returns the state.
    ``gb``: an open Gradebook (the caller holds the lock), else one is opened here."""
    state = load_state(course, aid, student)
    shown = autograded_digests(course, aid, student) or state["answers"]
    if gb is not None:
        _confirmed(gb, aid, student, state, shown)
    else:
        with GRADEBOOK_LOCK:
            if not course.has_gradebook():
                return state
            with session(course, locked=False) as gb:     # the lock is held above
                _confirmed(gb, aid, student, state, shown)
    state["answers"] = shown
    save_state(course, aid, student, state)
    return state


def _confirmed(gb, aid, student, state, shown):
    for key, grade in _grades(gb, aid, student).items():
        if grade.manual_score is None:
            state["graded"].pop(key, None)          # no (more) manual score
        elif not grade.needs_manual_grade and key in shown:
            state["graded"][key] = shown[key]       # confirmed for the text shown


def after_autograde(course, aid, student, state, gb=None):
    """Put the teacher's flags back after nbgrader's Autograde; returns
    ``(pending_manual, manual_changed)``, lists of grade_ids.  ``gb``: an open Gradebook
    (the caller holds the lock), else one is opened here."""
    if gb is None:
        with session(course) as gb:
            return after_autograde(course, aid, student, state, gb)
    answers = autograded_digests(course, aid, student)
    changed = []
    grades = _grades(gb, aid, student)
    for key, grade in grades.items():
        if grade.manual_score is None:
            continue
        same = key in state["graded"] and state["graded"][key] == answers.get(key)
        grade.needs_manual_grade = not same
        if key in state["graded"] and not same:
            changed.append(grade.name)
    gb.db.commit()
    pending = [g.name for g in grades.values() if g.needs_manual_grade]
    save_state(course, aid, student, {"answers": answers, "graded": state["graded"]})
    return pending, changed


def pending_manual(course, aids):
    """{(student, aid): [grade_id, ...]} of the cells that still need manual grading."""
    out = {}
    if not course.has_gradebook():
        return out
    with session(course) as gb:
        for aid in aids:
            for student in course.students([aid]):
                ids = [g.name for g in _grades(gb, aid, student).values() if g.needs_manual_grade]
                if ids:
                    out[(student, aid)] = ids
    return out


def answers_changed(course, pending):
    """(student, aid, [grade_id]) of the pending answers whose result record says they were
    flagged again because the answer changed after the teacher graded it."""
    out = []
    for (student, aid), ids in sorted(pending.items()):
        again = [g for g in (load_result(course, aid, student) or {}).get("manual_changed", [])
                 if g in ids]
        if again:
            out.append((student, aid, again))
    return out


def grades_digest(course, aid, student, gb=None, _ext=None):
    """A digest of everything that a feedback page shows besides the notebook: the
    gradebook's scores, flags, comments and nbgrader's late penalty, and nncourse's late
    note (``lms.deadlines.late_key``: the due date, extension, policy and submission time
    behind 「遅延提出 …」); when it changes, the feedback is out of date.  ``gb``: an open
    Gradebook (the caller holds the lock), else one is opened here; ``_ext``: the course's
    ``deadlines.extensions``, read once by a caller that digests many submissions."""
    if gb is None:
        with session(course) as gb:
            return grades_digest(course, aid, student, gb, _ext)
    h = hashlib.sha256()
    sub = find_submission(gb, aid, student)
    if sub is None:
        return ""
    late = late_key(course, aid, student, _ext)
    if late:                  # nothing added when on time: the digests made before stay valid
        h.update(repr(("late", late)).encode())
    for nb in sorted(sub.notebooks, key=lambda n: n.name):
        h.update(repr((nb.name, nb.late_submission_penalty)).encode())
        for g in sorted(nb.grades, key=lambda g: g.name):
            h.update(repr((g.name, g.auto_score, g.manual_score, g.extra_credit,
                           bool(g.needs_manual_grade))).encode())
        for c in sorted(nb.comments, key=lambda c: c.name):
            h.update(repr((c.name, c.auto_comment, c.manual_comment)).encode())
    return h.hexdigest()[:32]


def stale_feedback(course, records):
    """The result records (graded ones) whose feedback no longer shows what the gradebook
    says, or whose late note changed (the deadline settings, an extension, the submission
    time); one gradebook session for all of them."""
    records = [r for r in records if r.get("status") == "graded"]
    if not records or not course.has_gradebook():
        return []
    try:
        ext = extensions(course)
    except DeadlineError:
        ext = None            # each digest meets the error again: no late note, as the feedback
    with session(course) as gb:
        return [r for r in records if r.get("feedback_grades") !=
                grades_digest(course, r["assignment"], r["student"], gb, ext)]


def format_pending(pending, changed=()):
    """Lines for ``nncourse grade``'s summary: what still needs manual grading, per assignment
    and student; ``changed``: (student, aid, [grade_id]) whose answer changed since graded."""
    if not pending:
        return ["手動採点待ち (pending manual grading): none"]
    by_aid = {}
    for (student, aid), ids in sorted(pending.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        by_aid.setdefault(aid, []).append((student, ids))
    n = sum(len(ids) for ids in pending.values())
    lines = [f"手動採点待ち (pending manual grading): {n} answer(s) in {len(pending)} "
             "submission(s); grade them with `nncourse formgrader`"]
    redo = {(s, a): set(ids) for s, a, ids in changed}
    for aid, rows in by_aid.items():
        lines.append(f"  {aid}: {len(rows)} student(s)")
        for student, ids in rows:
            again = redo.get((student, aid), set())
            what = ", ".join(i + (" (answer changed since graded)" if i in again else "")
                             for i in ids)
            lines.append(f"    {student}: {what}")
    return lines
