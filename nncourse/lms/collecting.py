"""Collect from a Moodle or Canvas download: identify, map to the roster, place idempotently."""
import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import timezone
from pathlib import PurePosixPath

from . import archive, canvas, deadlines, moodle, records
from .roster import STUDENT_ID, Roster, norm_name

# copies and renames that students' tools make of a notebook's name
RENAMES = [r"\s*\((?P<n>\d+)\)$", r"-(?P<n>\d+)$", r"\s*-\s*コピー(?:\s*\((?P<n>\d+)\))?$",
           r"^コピー\s*[～~〜]\s*", r"^Copy of\s+", r"\s*-\s*Copy(?:\s*\((?P<n>\d+)\))?$",
           r"\s*のコピー$", r"\s+copy(?:\s+(?P<n>\d+))?$", r"_(?P<n>\d+)$"]


def detect(path):
    """"moodle", "canvas" or "files" from the download's file names."""
    entries = archive.entries(path)
    if any(moodle.parse(e.name) for e in entries):
        return "moodle"
    nbs = [e for e in entries if e.basename.endswith(".ipynb")]
    if nbs and all(canvas.parse(e.basename) for e in nbs):
        return "canvas"
    return "files"


def match_notebook(filename, notebooks):
    """(notebook name, exact, version) for a student's file name; name None when no match."""
    stem = PurePosixPath(filename).name
    if not stem.endswith(".ipynb"):
        return None, False, 0
    stem = stem[:-len(".ipynb")].strip()
    if stem in notebooks:
        return stem, True, 0
    version, changed = 0, True
    while changed:
        changed = False
        for pat in RENAMES:
            m = re.search(pat, stem)
            if m:
                if m.groupdict().get("n"):
                    version = max(version, int(m["n"]))
                stem, changed = (stem[:m.start()] + stem[m.end():]).strip(), True
                if stem in notebooks:
                    return stem, False, version
    if len(notebooks) == 1:            # one notebook per assignment: any name will do
        return notebooks[0], False, version
    return None, False, version


@dataclass
class Candidate:
    entry: object
    label: str
    student: str
    notebook: str
    exact: bool
    version: int
    ident: dict
    submitted_at: object       # aware datetime or None

    @property
    def rank(self):
        att = int(self.ident.get("attachment_id") or 0)
        return (self.exact, self.version, att)


def _identify_moodle(mf, roster, sheet, tz):
    row = sheet.get(mf.participant_id, {})
    email = row.get("Email address", "") if row else ""
    full = mf.full_name or ("" if mf.blind else row.get("Full name", ""))
    ident = {"lms": "moodle", "participant_id": mf.participant_id, "full_name": full,
             "email": email, "blind": mf.blind, "late": False}
    when = moodle.worksheet_submitted_at(row, tz) if row else None
    anonymous = f"moodle-p{mf.participant_id}"
    if roster is None:
        return anonymous, None, ident, when
    s = (roster.by("moodle_participant_id", mf.participant_id)
         or roster.by("email", email, str.lower)
         or (None if mf.blind else roster.by("name", full, norm_name)))
    if s:
        return s.student_id, None, ident, when
    if mf.blind:            # blind marking: the student stays anonymous, export maps back by id
        return anonymous, None, ident, when
    who = f"{full} (participant {mf.participant_id}" + (f", {email})" if email else ")")
    return None, f"{who} is not in the roster", ident, when


def _identify_canvas(cf, roster):
    ident = {"lms": "canvas", "canvas_user_id": cf.user_id, "attachment_id": cf.attachment_id,
             "canvas_name": cf.name, "late": cf.late}
    anonymous = "canvas-" + cf.user_id.replace("_", "-")
    if roster is None:
        return anonymous, None, ident
    s = (roster.by("canvas_user_id", cf.user_id)
         or (roster.by("name", cf.name, canvas.sortable_key) if cf.name else None))
    if s:
        return s.student_id, None, ident
    if cf.user_id.startswith("anon_"):
        return anonymous, None, ident
    return None, f"{cf.name or '?'} (Canvas user {cf.user_id}) is not in the roster", ident


def _choose(cands, kind):
    """The candidate to place among one student's files for one notebook, or None (ambiguous)."""
    if len(cands) == 1:
        return cands[0]
    best = max(cands, key=lambda c: c.rank)
    if sum(c.rank == best.rank for c in cands) > 1:
        return None
    exact = [c for c in cands if c.exact]
    if kind == "canvas" or len(exact) == 1 or (not exact and best.version > 0):
        return best
    return None


def collect_lms(course, aid, path, kind, roster=None, worksheet=None):
    from ..collect import CollectResult
    notebooks = course.notebooks(aid)
    result = CollectResult(aid, lms=kind)
    if roster is not None and not isinstance(roster, Roster):
        roster = Roster.load(roster)
    sheet = moodle.read_worksheet(worksheet) if worksheet else {}
    tz = deadlines.timezone_of(course)
    groups = defaultdict(list)
    for e in archive.entries(path):
        label = e.name
        if kind == "moodle":
            mf = moodle.parse(e.name)
            if mf is None:
                result.unplaced.append((label, "not a Moodle submission file name "
                                        "(<name>_<id>_assignsubmission_file_…)"))
                continue
            if mf.plugin != "file":
                result.ignored.append((label, f"{mf.plugin} submission, not a file"))
                continue
            filename = mf.filename
            student, why, ident, when = _identify_moodle(mf, roster, sheet, tz)
        else:
            cf = canvas.parse(e.basename)
            if cf is None:
                result.unplaced.append((label, "not a Canvas submission file name "
                                        "(<name>_[LATE_]<user id>_<file id>_<file>)"))
                continue
            filename = cf.filename
            student, why, ident = _identify_canvas(cf, roster)
            when = None
        if not filename.endswith(".ipynb"):
            (result.ignored if filename.endswith(".html") and kind == "canvas"
             else result.unplaced).append((label, "not a notebook"))
            continue
        if student is None:
            result.unplaced.append((label, why))
            continue
        if not STUDENT_ID.match(student):
            result.unplaced.append((label, f"student id {student!r} is not a valid id"))
            continue
        name, exact, version = match_notebook(filename, notebooks)
        if name is None:
            result.unplaced.append((label, f"not a notebook of {aid} ({', '.join(notebooks)})"))
            continue
        groups[(student, name)].append(Candidate(e, label, student, name, exact, version,
                                                 ident, when))
    recs = records.load(course, aid)
    for (student, name), cands in sorted(groups.items()):
        chosen = _choose(cands, kind)
        if chosen is None:
            for c in cands:
                result.unplaced.append((c.label, f"several files of {student} could be "
                                        f"{name}.ipynb: {', '.join(x.label for x in cands)}"))
            continue
        for c in cands:
            if c is not chosen:
                result.ignored.append((c.label, f"an older or second copy; {chosen.label} "
                                       f"is {student}'s {name}.ipynb"))
        _place(course, aid, chosen, recs, result)
    records.save(course, aid, recs)
    if roster is not None:
        have = {s for s, _ in groups} | {p.name for p in (course.root / "submitted").glob("*")
                                         if (p / aid).is_dir()}
        result.missing = [s.student_id for s in roster.students if s.student_id not in have]
    return result


def _newer_collected(c, when, old):
    """Why the collected submission ``old`` is newer than candidate ``c``, or "" when it is
    not known to be: by the LMS's submission times, else (Canvas) by its attachment ids, which
    grow with every upload.  A Moodle download without the worksheet has neither: its
    notebook replaces the collected one."""
    if when and old.get("submitted_at"):
        if when < old["submitted_at"]:
            return f"submitted {when}, the collected one {old['submitted_at']} is newer"
        return ""
    new_id, old_id = c.ident.get("attachment_id"), old.get("attachment_id")
    if new_id and old_id and old.get("lms") == "canvas" and int(new_id) < int(old_id):
        return f"Canvas file {new_id}, the collected one ({old_id}) was uploaded later"
    return ""


def _place(course, aid, c, recs, result):
    data = c.entry.read()
    digest = hashlib.sha256(data).hexdigest()
    when = c.submitted_at.astimezone(timezone.utc).isoformat() if c.submitted_at else ""
    dest_dir = course.submitted_dir(c.student, aid)
    dest = dest_dir / f"{c.notebook}.ipynb"
    stamp = dest_dir / "timestamp.txt"
    old = recs.get(c.student, {})
    if dest.is_file():
        same = dest.read_bytes() == data
        if same and (old.get("submitted_at", "") == when or not when):
            # the same notebook again; a download without times keeps the time we have
            result.unchanged.append((c.label, dest))
            return
        newer = _newer_collected(c, when, old)
        if newer and not same:
            result.kept.append((c.label, newer))
            return
    dest_dir.mkdir(parents=True, exist_ok=True)
    if not dest.is_file() or dest.read_bytes() != data:
        dest.write_bytes(data)
    if when:
        stamp.write_text(when)
    elif stamp.exists() and old.get("submitted_at"):
        stamp.unlink()                 # the time came from an earlier download of ours
    recs[c.student] = {**c.ident, "submitted_at": when, "source": c.label, "sha256": digest,
                       "notebook": c.notebook}
    result.placed.append((c.label, dest))
    if not c.exact:
        result.renamed.append((c.label, f"{c.notebook}.ipynb"))
