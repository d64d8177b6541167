"""The roster from the platform's Names and Role Provisioning Service (NRPS): an instructor's
launch saves the course's learners as ``lti/roster.csv`` (git-ignored), a roster CSV of
``lms/roster.py`` (student_id, name, email, lti_user_id) that ``nncourse collect --roster``,
``export`` and the upload (for a launch without ``lis_person_sourcedid``) read like a hand-made one.  A learner's student id (学籍番号) is their
``lis_person_sourcedid`` (Moodle: ID number; Canvas: SIS user id); a member without a usable
one is listed, never given a made-up id."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

from ..core.course import Course
from ..core.files import atomic_write
from ..core.safetext import CsvDictWriter
from ..lms.roster import STUDENT_ID, Roster, RosterError

COLUMNS = ["student_id", "name", "email", "lti_user_id"]
# a learner of the course (the context's Learner role; short form allowed by LTI 1.3), not a
# student of the institution (institution/person#Student) who is no member of this course
LEARNER_ROLES = {"http://purl.imsglobal.org/vocab/lis/v2/membership#Learner", "Learner"}


@dataclass
class RosterSave:
    path: Path
    saved: list = field(default_factory=list)      # student ids
    skipped: list = field(default_factory=list)    # (LMS user id, reason)


def path(course: Course) -> Path:
    return course.root / "lti" / "roster.csv"


def is_learner(roles) -> bool:
    """Whether ``roles`` (an LTI roles claim or an NRPS member's roles) make a learner."""
    return isinstance(roles, list) and bool(LEARNER_ROLES & {str(r) for r in roles})


def save_members(course: Course, members: list[dict]) -> RosterSave:
    """Write the learners among NRPS ``members`` to ``lti/roster.csv`` (replacing it whole)."""
    out = RosterSave(path(course))
    rows, seen = [], set()
    for m in members:
        if not is_learner(m.get("roles")) or str(m.get("status", "Active")) != "Active":
            continue
        user = str(m.get("user_id", ""))
        sid = str(m.get("lis_person_sourcedid") or "").strip()
        if not sid:
            out.skipped.append((user, "no lis_person_sourcedid (the LMS's ID number / SIS id)"))
        elif not STUDENT_ID.match(sid):
            out.skipped.append((user, f"student id {sid!r} is not a valid id"))
        elif sid in seen:
            out.skipped.append((user, f"student id {sid} appears twice"))
        else:
            seen.add(sid)
            rows.append({"student_id": sid, "name": m.get("name", ""),
                         "email": m.get("email", ""), "lti_user_id": user})
            out.saved.append(sid)
    buf = io.StringIO()
    w = CsvDictWriter(buf, fieldnames=COLUMNS)
    w.writeheader()
    w.writerows(sorted(rows, key=lambda r: r["student_id"]))
    atomic_write(out.path, buf.getvalue())
    return out


def lti_users(course: Course) -> dict[str, str]:
    """student id -> the platform's user id, from ``lti/roster.csv`` ({} without one)."""
    if not path(course).is_file():
        return {}
    try:
        return {s.student_id: s.lti_user_id for s in Roster.load(path(course)).students
                if s.lti_user_id}
    except (RosterError, OSError):
        return {}


def student_of(course: Course, lti_user: str) -> str:
    """The student id ``lti/roster.csv`` gives the platform's user ``lti_user``, or ""."""
    found = [sid for sid, user in lti_users(course).items() if lti_user and user == lti_user]
    return found[0] if len(found) == 1 else ""
