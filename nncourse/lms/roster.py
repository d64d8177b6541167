"""The roster: one row per student, mapping LMS identities to the course's student id.

A CSV with a header row (UTF-8, UTF-8 with BOM, or cp932 as Excel on Japanese Windows saves
it).  Columns (only ``student_id`` is required; the Japanese headers are accepted too):

    student_id (学籍番号)    the course's id, used for submitted/<student_id>/ (letters, digits, . _ -)
    name (氏名)              full name as the LMS shows it ("山田 太郎"; Canvas: "Yamada, Taro")
    email (メールアドレス)    the LMS account's e-mail address (Moodle's worksheet shows it)
    moodle_participant_id    Moodle's participant id of this assignment (optional)
    canvas_user_id           Canvas user id (the number in Canvas's file names)
    sis_user_id, sis_login_id, section    copied into Canvas's gradebook CSV
    lti_user_id              the LTI platform's user id (sub); written by the LTI tool's NRPS roster
"""
import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

ALIASES = {"学籍番号": "student_id", "student id": "student_id",
           "氏名": "name", "名前": "name", "full name": "name",
           "メールアドレス": "email", "email address": "email", "e-mail": "email",
           "participant id": "moodle_participant_id", "canvas id": "canvas_user_id",
           "sis user id": "sis_user_id", "sis login id": "sis_login_id"}
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")


class RosterError(Exception):
    """A roster that cannot be used (no student_id column, duplicate or invalid ids)."""


def read_csv_text(path):
    data = Path(path).read_bytes()
    for enc in ("utf-8-sig", "cp932"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise RosterError(f"{path}: neither UTF-8 nor cp932 (Shift_JIS)")


def norm_name(name):
    """Names compared after NFKC (full-width spaces, letters) with spaces collapsed, lower-cased."""
    return " ".join(unicodedata.normalize("NFKC", name or "").split()).casefold()


@dataclass
class Student:
    student_id: str
    name: str = ""
    email: str = ""
    moodle_participant_id: str = ""
    canvas_user_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""
    lti_user_id: str = ""


@dataclass
class Roster:
    students: list = field(default_factory=list)

    @classmethod
    def load(cls, path):
        reader = csv.DictReader(io.StringIO(read_csv_text(path)))
        fields = {f: ALIASES.get(f.strip().lower(), ALIASES.get(f.strip(), f.strip().lower()))
                  for f in reader.fieldnames or []}
        if "student_id" not in fields.values():
            raise RosterError(f"{path}: no student_id (学籍番号) column; columns: "
                              f"{', '.join(reader.fieldnames or [])}")
        known = set(Student.__dataclass_fields__)
        students, seen = [], set()
        for n, raw in enumerate(reader, start=2):
            row = {fields[k]: (v or "").strip() for k, v in raw.items() if k in fields
                   and fields[k] in known}
            if not row.get("student_id"):
                continue
            sid = row["student_id"]
            if not STUDENT_ID.match(sid):
                raise RosterError(f"{path}:{n}: student id {sid!r} is not a valid id")
            if sid in seen:
                raise RosterError(f"{path}:{n}: student id {sid} appears twice")
            seen.add(sid)
            students.append(Student(**row))
        return cls(students)

    def by(self, attr, value, key=lambda v: v):
        """The one student whose ``attr`` matches ``value`` (None for none or several)."""
        if not value:
            return None
        hits = [s for s in self.students if getattr(s, attr) and key(getattr(s, attr)) == key(value)]
        return hits[0] if len(hits) == 1 else None

    def get(self, student_id):
        return next((s for s in self.students if s.student_id == student_id), None)
