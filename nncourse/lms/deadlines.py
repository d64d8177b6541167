"""Due dates, per-student extensions and the late penalty (``course_config.py``).

Settings (all optional; no DUE_DATES entry = no deadline for that assignment):

    DUE_DATES = {"a1_loss": "2026-05-08T23:59:00+09:00"}     ISO 8601, with the UTC offset
    EXTENSIONS = {"a1_loss": {"s0123": "2026-05-12T23:59:00+09:00"}}
    EXTENSIONS_CSV = "extensions.csv"     a CSV file, relative to the course (or absolute):
                                          a header row ``student_id,assignment,due``, then
                                          one row per extension, e.g.
                                          ``s0123,a1_loss,2026-05-12T23:59:00+09:00``
                                          (UTF-8, UTF-8 with BOM or cp932; a time without
                                          an offset is in LMS_TIMEZONE; blank lines are
                                          skipped; it wins over EXTENSIONS)
    LATE_PENALTY = {"policy": "per_day", "percent_per_day": 10, "floor_percent": 50,
                    "grace_minutes": 0}   policy: "none" | "zero" | "per_day"
    LMS_TIMEZONE = "Asia/Tokyo"           for LMS times written without an offset
    LATE_WITHOUT_TIME_DAYS = 1            days counted when the LMS marks a submission late
                                          but gives no time (Canvas's file names)

A day late is any started 24 hours after the (extended) due date plus the grace period.
``per_day`` multiplies the score by ``1 - days × percent_per_day / 100``, never below
``floor_percent`` % of it; ``zero`` gives 0 to any late submission.
"""
import csv
import io
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import dateutil.parser
import dateutil.tz
from nbgrader.utils import parse_utc

from ..core.submission import small_text
from . import records
from .roster import RosterError, read_csv_text

POLICIES = ("none", "zero", "per_day")
JA_TIME = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日.*?(\d{1,2}):(\d{2})")


class DeadlineError(Exception):
    """A due date, extension or penalty setting that cannot be used."""


def _tz(course):
    name = course.setting("LMS_TIMEZONE")
    tz = dateutil.tz.gettz(name)
    if tz is None:
        raise DeadlineError(f"LMS_TIMEZONE {name!r} is not a time zone")
    return tz


def parse_time(text, tz):
    """An aware datetime from ISO 8601 or an LMS's display format (English or Japanese)."""
    if isinstance(text, datetime):
        dt = text
    else:
        text = str(text).strip()
        m = JA_TIME.search(text)
        if m:
            dt = datetime(*map(int, m.groups()))
        else:
            try:
                dt = dateutil.parser.parse(text)
            except (ValueError, OverflowError) as exc:
                raise DeadlineError(f"cannot read the time {text!r}: {exc}") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=tz)


def parse_lms_time(text, tz):
    try:
        return parse_time(text, tz)
    except DeadlineError:
        return None


def policy(course):
    p = dict(course.setting("LATE_PENALTY") or {"policy": "none"})
    p.setdefault("policy", "none")
    if p["policy"] not in POLICIES:
        raise DeadlineError(f"LATE_PENALTY policy {p['policy']!r}: use one of {POLICIES}")
    p.setdefault("percent_per_day", 10)
    p.setdefault("floor_percent", 0)
    p.setdefault("grace_minutes", 0)
    return p


def extensions(course):
    """{(assignment, student): aware due date} from EXTENSIONS and EXTENSIONS_CSV."""
    tz = _tz(course)
    out = {}
    for aid, per in (course.setting("EXTENSIONS") or {}).items():
        for student, due in per.items():
            out[(aid, student)] = parse_time(due, tz)
    name = course.setting("EXTENSIONS_CSV")
    if name:
        out.update(read_extensions_csv(course, name, tz))
    return out


CSV_COLUMNS = ("student_id", "assignment", "due")


def read_extensions_csv(course, name, tz=None):
    """{(assignment, student): aware due date} of an EXTENSIONS_CSV file (see the module's
    docstring); DeadlineError naming the file and line of anything it cannot use."""
    tz = tz or _tz(course)
    p = Path(name) if Path(name).is_absolute() else course.root / name
    try:
        text = read_csv_text(p)
    except OSError as exc:
        raise DeadlineError(f"EXTENSIONS_CSV {p}: cannot read it ({exc.strerror or exc})") from None
    except RosterError as exc:
        raise DeadlineError(f"EXTENSIONS_CSV {exc}") from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    columns = [h.strip().lower() for h in header or []]
    if any(c not in columns for c in CSV_COLUMNS):
        raise DeadlineError(f"EXTENSIONS_CSV {p}: the first row must name the columns "
                            f"{','.join(CSV_COLUMNS)} (it is {','.join(header or []) or 'empty'!r})")
    at = {c: columns.index(c) for c in CSV_COLUMNS}
    known = set(course.setting("ASSIGNMENTS") or [])
    out = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        values = {c: row[i].strip() if i < len(row) else "" for c, i in at.items()}
        empty = [c for c in CSV_COLUMNS if not values[c]]
        if empty:
            raise DeadlineError(f"EXTENSIONS_CSV {p} line {line}: no {', '.join(empty)} "
                                f"(a row is {','.join(CSV_COLUMNS)}; it is {','.join(row)!r})")
        if known and values["assignment"] not in known:
            raise DeadlineError(f"EXTENSIONS_CSV {p} line {line}: assignment "
                                f"{values['assignment']!r} is not in ASSIGNMENTS {sorted(known)}")
        try:
            due = parse_time(values["due"], tz)
        except DeadlineError as exc:
            raise DeadlineError(f"EXTENSIONS_CSV {p} line {line}: {exc}") from None
        out[(values["assignment"], values["student_id"])] = due
    return out


def due_date(course, aid, student=None, _ext=None):
    """The (extended) due date of ``student`` for ``aid``, aware, or None."""
    ext = (_ext if _ext is not None else extensions(course)).get((aid, student))
    if ext:
        return ext
    due = (course.setting("DUE_DATES") or {}).get(aid)
    return parse_time(due, _tz(course)) if due else None


def submission_time(course, aid, student):
    """(submitted_at aware UTC or None, the LMS's late mark) of a collected submission."""
    rec = records.load(course, aid).get(student, {})
    when = None
    stamp = course.submitted_dir(student, aid) / "timestamp.txt"
    text = rec.get("submitted_at") or small_text(stamp).strip()   # a link or odd file: no time
    if text:
        try:
            when = parse_utc(text).replace(tzinfo=timezone.utc)
        except (ValueError, OverflowError):
            when = None
    return when, bool(rec.get("late"))


@dataclass
class Penalty:
    due: datetime = None
    submitted_at: datetime = None
    late_mark: bool = False
    days_late: int = 0
    factor: float = 1.0
    policy: str = "none"
    time_known: bool = True

    @property
    def percent(self):
        return round((1 - self.factor) * 100, 2)

    @property
    def late(self):
        return self.days_late > 0

    def apply(self, score):
        return round(score * self.factor, 4)

    def note_ja(self, score=None, max_score=None, tz=None):
        """One Japanese sentence for the feedback and the LMS comment ("" when on time)."""
        if not self.late:
            return ""
        fmt = lambda d: d.astimezone(tz).strftime("%Y-%m-%d %H:%M") if d else "不明"
        when = (f"提出日時 {fmt(self.submitted_at)}、締切 {fmt(self.due)}"
                if self.time_known else f"LMS で遅延提出とされています (提出時刻不明、{self.days_late} 日として扱います)、締切 {fmt(self.due)}")
        if self.policy == "none":
            rule = f"{self.days_late} 日遅れです (減点はありません)"
        elif self.policy == "zero":
            rule = "締切後の提出は 0 点です"
        else:
            rule = f"{self.days_late} 日遅れのため {self.percent:g}% 減点します"
        text = f"遅延提出: {when}。{rule}"
        if score is not None:
            text += f" ({score:g} 点 → {self.apply(score):g} 点"
            text += f" / {max_score:g} 点)。" if max_score is not None else ")。"
        else:
            text += "。"
        return text


def penalty(course, aid, student, _ext=None):
    """The late penalty of ``student``'s submission of ``aid`` (Penalty; factor 1 when none)."""
    pol = policy(course)
    due = due_date(course, aid, student, _ext)
    when, mark = submission_time(course, aid, student)
    p = Penalty(due=due, submitted_at=when, late_mark=mark, policy=pol["policy"])
    if due is None:
        return p
    if when is not None:
        over = when - due - timedelta(minutes=float(pol["grace_minutes"]))
        p.days_late = max(0, math.ceil(over.total_seconds() / 86400))
    elif mark:
        p.time_known = False
        p.days_late = int(course.setting("LATE_WITHOUT_TIME_DAYS"))
    if p.days_late and pol["policy"] == "zero":
        p.factor = 0.0
    elif p.days_late and pol["policy"] == "per_day":
        floor = float(pol["floor_percent"]) / 100
        p.factor = max(floor, 1 - p.days_late * float(pol["percent_per_day"]) / 100, 0.0)
    return p


def timezone_of(course):
    return _tz(course)


def late_key(course, aid, student, _ext=None):
    """What the late note of a submission's feedback says, as a string ("" when there is no
    note: on time, no deadline, or settings that cannot be used, as ``feedback/late.py``),
    for the feedback's staleness digest (``manual.grades_digest``).  It follows every input
    of the penalty: DUE_DATES, EXTENSIONS, EXTENSIONS_CSV, LATE_PENALTY, LMS_TIMEZONE,
    LATE_WITHOUT_TIME_DAYS, the submission time and the LMS's late mark."""
    try:
        p = penalty(course, aid, student, _ext)
        tz = _tz(course)
    except DeadlineError:
        return ""
    if not p.late:
        return ""
    when = lambda d: d.astimezone(tz).isoformat() if d else None
    return repr((when(p.due), when(p.submitted_at), p.late_mark, p.days_late, p.factor,
                 p.policy, p.time_known))
