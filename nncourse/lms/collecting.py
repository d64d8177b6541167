"""Collect a download into submitted/: its layout, who each file is, which file, placed safely.

Who a file belongs to comes only from the part of its path that the LMS (or the instructor)
wrote, never from what a student chose:

- Moodle: the first part, ``<full name>_<participant id>_assignsubmission_file_`` (the folder,
  or the prefix of the flat layout's file); the student's own file names and folders follow it;
- Canvas: the first part's prefix ``<name>[_LATE]_<user id>_<attachment id>_``; the student
  chose only the rest of the name (and what is inside a zip they uploaded);
- files (nbgrader's layout): a top-level ``<student id>_[attempt_<time>_]<notebook>.ipynb``
  (``COLLECT_REGEXP``, matched as nbgrader's ``FileNameCollectorPlugin`` does, without importing
  nbgrader) whose notebook part is the assignment's notebook (or a copy's name of it), or a
  top-level folder per student.  Without a roster a student id must look like one (``COLLECT_STUDENT_ID``); with a
  roster it must be on it.  Anything else is listed, never turned into a student.

The submission time comes only from the LMS: Moodle's worksheet, nbgrader's ``attempt_<time>``
in the LMS's file name; a ``timestamp.txt`` inside a submission is ignored (listed).

Placing never loses a notebook: a notebook that is replaced is moved to
``submitted/.nncourse-backup/<student>/<assignment>/<time>/`` (a dot folder: nbgrader and
``nncourse grade`` see no student there), and a notebook that is not readable (not notebook JSON)
does not replace a readable one unless ``replace`` is given.  A readable notebook always replaces
an unreadable one, whatever their times.
"""
import hashlib
import json
import os
import re
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import PurePosixPath

from ..core.course import CourseError
from . import archive, canvas, deadlines, moodle, records
from .roster import STUDENT_ID, Roster, RosterError, norm_name

# COLLECT_REGEXP (default "<student id>_[attempt_<timestamp>_]<notebook>.ipynb") and
# COLLECT_STUDENT_ID (default: letters, digits, "." and "-", at least one digit, a 学籍番号):
# their defaults are in core/settings.py
BACKUP_DIR = ".nncourse-backup"          # in submitted/; a dot folder is no student
TIMESTAMP = "timestamp.txt"

# copies and renames that students' tools make of a notebook's name
RENAMES = [r"\s*\((?P<n>\d+)\)$", r"-(?P<n>\d+)$", r"\s*-\s*コピー(?:\s*\((?P<n>\d+)\))?$",
           r"^コピー\s*[～~〜]\s*", r"^Copy of\s+", r"\s*-\s*Copy(?:\s*\((?P<n>\d+)\))?$",
           r"\s*のコピー$", r"\s+copy(?:\s+(?P<n>\d+))?$", r"_(?P<n>\d+)$"]


@dataclass
class CollectResult:
    assignment: str
    placed: list = field(default_factory=list)     # (source name, destination)
    renamed: list = field(default_factory=list)    # (source name, notebook name)
    unplaced: list = field(default_factory=list)   # (source name, reason)
    lms: str = "files"                             # "moodle" | "canvas" | "files"
    unchanged: list = field(default_factory=list)  # (source name, destination) already there
    kept: list = field(default_factory=list)       # (source name, reason) older than collected
    ignored: list = field(default_factory=list)    # (source name, reason) not a submission file
    missing: list = field(default_factory=list)    # roster student ids without a submission
    replaced: list = field(default_factory=list)   # (source name, backup folder of the old one)
    unreadable: list = field(default_factory=list)  # (source name, reason) placed all the same

    def format(self):
        lines = [f"{self.assignment}: placed {len(self.placed)} notebook(s) from "
                 f"{len({d.parent.parent.name for _, d in self.placed})} student(s)"
                 + (f" ({self.lms} download)" if self.lms != "files" else "")]
        if self.unchanged:
            lines.append(f"  {len(self.unchanged)} unchanged (already collected)")
        lines += [f"  renamed {s} -> {n}" for s, n in self.renamed]
        lines += [f"  replaced by {s}; the previous notebook is kept in {b}"
                  for s, b in self.replaced]
        lines += [f"  placed {s}, but it is not a readable notebook ({why}): grading will "
                  "say so; ask the student for the file again" for s, why in self.unreadable]
        lines += [f"  kept the collected one, not {s}: {why}" for s, why in self.kept]
        lines += [f"  ignored {s}: {why}" for s, why in self.ignored]
        if self.missing:
            lines.append(f"  no submission from {len(self.missing)} roster student(s): "
                         + ", ".join(self.missing))
        if self.unplaced:
            lines.append(f"could not place {len(self.unplaced)} file(s):")
            lines += [f"  {s}: {why}" for s, why in self.unplaced]
        return "\n".join(lines)


# --- layouts ---------------------------------------------------------------------------------
def _depth(entries, is_identity):
    """How many folders wrap the whole download: common leading folders that are not an
    identity (``is_identity(part)``) and not a zip inside the download."""
    d = 0
    while entries:
        heads = {e.parts[d] if len(e.parts) > d + 1 else None for e in entries}
        if len(heads) != 1 or None in heads:
            return d
        head = heads.pop()
        prefix = "/".join(entries[0].parts[:d + 1])
        if is_identity(head) or any(prefix in e.archives for e in entries):
            return d
        d += 1
    return d


def _moodle_part(part):
    return moodle.parse(part + "/x") is not None


def _canvas_part(part):
    return canvas.parse(part) is not None


def detect(entries):
    """"moodle", "canvas" or "files": Moodle when every file is under Moodle's names, Canvas
    when every notebook has Canvas's name (a student's file cannot change that)."""
    if entries:
        d = _depth(entries, _moodle_part)
        if all(moodle.parse("/".join(e.parts[d:])) for e in entries):
            return "moodle"
        d = _depth(entries, _canvas_part)
        nbs = [e for e in entries if e.basename.endswith(".ipynb")]
        if nbs and all(canvas.parse(e.parts[d]) for e in nbs):
            return "canvas"
    return "files"


def match_notebook(filename, notebooks, any_name=True):
    """(notebook name, exact, version) for a student's file name; name None when no match.
    ``any_name``: with one notebook per assignment any notebook file is that one."""
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
    if any_name and len(notebooks) == 1:
        return notebooks[0], False, version
    return None, False, version


def notebook_problem(data):
    """Why ``data`` is not a readable notebook (not UTF-8 notebook JSON), or ""."""
    try:
        nb = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        return "not UTF-8 text"
    except (ValueError, RecursionError):
        return "not JSON: cut short or damaged"
    if not (isinstance(nb, dict) and isinstance(nb.get("nbformat"), int)
            and isinstance(nb.get("cells", nb.get("worksheets")), list)):
        return "JSON, but not a notebook"
    return ""


@dataclass
class Candidate:
    entry: object
    label: str
    student: str
    notebook: str
    exact: bool
    version: int
    ident: dict                # the LMS identity kept in records (None: files layout, no record)
    submitted_at: object       # aware datetime or None
    stamp: str = ""            # nbgrader's attempt time from the LMS's file name (files layout)

    @property
    def rank(self):
        att = int((self.ident or {}).get("attachment_id") or 0)
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


class _Files:
    """The files layout's identities: nbgrader's file names and folders per student."""

    def __init__(self, course, roster):
        self.roster = roster
        self.pattern = self._compiled(course, "COLLECT_STUDENT_ID")
        self.regexp = self._compiled(course, "COLLECT_REGEXP")

    @staticmethod
    def _compiled(course, name):
        try:
            return re.compile(course.setting(name))
        except (re.error, TypeError) as exc:
            raise CourseError(f"{name} in course_config.py is not a regular expression: "
                              f"{exc}") from None

    def student_problem(self, sid):
        """Why ``sid`` cannot be taken as a student id, or ""."""
        if self.roster is not None:
            return "" if self.roster.get(sid) else f"{archive.display(sid)!r} is not in the roster"
        if STUDENT_ID.match(sid) and self.pattern.match(sid):
            return ""
        return (f"{archive.display(sid)!r} does not look like a student id (COLLECT_STUDENT_ID: "
                "letters, digits, '.', '-', at least one digit); collect with --roster to take "
                "the roster's ids")

    def is_student(self, part):
        return not self.student_problem(part)

    def identify(self, entry, rel):
        """(student id, file name, attempt time, any notebook name will do) of a file of the
        files layout, or (None, reason)."""
        if len(rel) == 1:
            m = self.regexp.match("/" + rel[0]) if rel[0].endswith(".ipynb") else None
            info = m.groupdict() if m else None
            if not info or not info.get("student_id") or not info.get("file_id"):
                return None, ("not a notebook" if not rel[0].endswith(".ipynb") else
                              "not <student id>_<notebook>.ipynb (nbgrader's file names) and "
                              "not in a folder per student")
            why = self.student_problem(info["student_id"])
            if why:
                return None, why
            return (info["student_id"], info["file_id"], info.get("timestamp") or "", False), ""
        depth = len(entry.parts) - len(rel)
        if entry.archives and len(PurePosixPath(entry.archives[0]).parts) == depth + 1:
            return None, ("a zip at the top of the download: only a student's folder may hold "
                          "a zip; put it in <student id>/ and collect again")
        why = self.student_problem(rel[0])
        if why:
            return None, f"the folder {why}"
        return (rel[0], "/".join(rel[1:]), "", True), ""


def _root_depth(kind, entries, files):
    """How many folders wrap the download of layout ``kind``."""
    if kind == "moodle":
        return _depth(entries, _moodle_part)
    if kind == "canvas":
        return _depth(entries, _canvas_part)
    return _depth(entries, files.is_student)


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


def collect_download(course, aid, path, lms="auto", roster=None, worksheet=None, replace=False):
    """Place the submissions of the download at ``path`` (see ``nncourse.collect``).

    archive.ArchiveError when the download cannot be read at all (nothing is placed)."""
    notebooks = course.notebooks(aid)
    try:
        if roster is not None and not isinstance(roster, Roster):
            roster = Roster.load(roster)
        sheet = moodle.read_worksheet(worksheet) if worksheet else {}
    except OSError as exc:
        raise RosterError(f"{exc.filename}: cannot read it ({exc.strerror or exc})") from None
    tz = deadlines.timezone_of(course)
    files = _Files(course, roster)
    with archive.open_download(path, archive.Limits.of(course.setting)) as download:
        kind = detect(download.entries) if lms == "auto" else lms
        result = CollectResult(aid, lms=kind)
        result.unplaced += download.refused
        depth = _root_depth(kind, download.entries, files)
        groups = defaultdict(list)
        for e in download.entries:
            c = _candidate(kind, e, e.parts[depth:], notebooks, aid, roster, sheet, tz, files,
                           result)
            if c is not None:
                groups[(c.student, c.notebook)].append(c)
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
            try:
                _place(course, aid, chosen, recs, result, replace)
            except archive.EntryError as exc:
                result.unplaced.append((chosen.label, str(exc)))
            except OSError as exc:
                result.unplaced.append((chosen.label, f"could not be written to submitted/: "
                                        f"{exc.strerror or exc}"))
        records.save(course, aid, recs)
    if roster is not None:
        have = set(course.students([aid]))
        result.missing = [s.student_id for s in roster.students if s.student_id not in have]
    return result


class _Upload:
    """One uploaded file as a download's entry (what ``_place`` reads)."""

    def __init__(self, data):
        self._data = data

    def read(self):
        return self._data


def place_upload(course, aid, student, filename, data, submitted_at, ident):
    """Place one notebook uploaded by ``student`` (an id the LMS vouched for, e.g. an LTI
    launch's) with the same rules as ``collect_download``: the student id must look like one
    (COLLECT_STUDENT_ID), the file must be a notebook of ``aid`` (its name or a copy's name of
    it), at most COLLECT_MAX_FILE_BYTES; an older upload never replaces a newer one, a replaced
    notebook is backed up, an unreadable one does not replace a readable one.
    ``submitted_at``: the LMS's (the tool's) aware time of the upload; ``ident``: the LMS
    identity kept in the records (``records.py``).  Returns the CollectResult."""
    result = CollectResult(aid, lms=ident.get("lms", "files"))
    label = archive.display(f"{student}/{PurePosixPath(filename).name}")
    limit = archive.Limits.of(course.setting).file_bytes
    why = _Files(course, None).student_problem(student)
    name, exact, version = match_notebook(filename, course.notebooks(aid))
    if why:
        result.unplaced.append((label, why))
    elif name is None:
        result.unplaced.append((label, f"not a notebook of {aid} "
                                f"({', '.join(course.notebooks(aid))})"))
    elif len(data) > limit:
        result.unplaced.append((label, f"{len(data):,} bytes, over COLLECT_MAX_FILE_BYTES "
                                f"{limit:,}: not read"))
    else:
        recs = records.load(course, aid)
        c = Candidate(_Upload(data), label, student, name, exact, version, ident, submitted_at)
        try:
            _place(course, aid, c, recs, result, replace=False)
        except OSError as exc:
            result.unplaced.append((label, f"could not be written to submitted/: "
                                    f"{exc.strerror or exc}"))
        records.save(course, aid, recs)
    return result


def _candidate(kind, e, rel, notebooks, aid, roster, sheet, tz, files, result):
    """The Candidate for entry ``e`` (``rel``: its parts below the download's root), or None
    when it is listed (unplaced or ignored) in ``result``."""
    label = archive.display("/".join(rel))       # as the download shows it below its wrappers
    when, stamp, ident, any_name = None, "", None, True
    if kind == "moodle":
        mf = moodle.parse("/".join(rel))
        if mf is None:
            result.unplaced.append((label, "not a Moodle submission file name "
                                    "(<name>_<id>_assignsubmission_file_…)"))
            return None
        if mf.plugin != "file":
            result.ignored.append((label, f"{mf.plugin} submission, not a file"))
            return None
        filename = mf.filename
        student, why, ident, when = _identify_moodle(mf, roster, sheet, tz)
    elif kind == "canvas":
        cf = canvas.parse(rel[0]) if rel else None
        if cf is None:
            result.unplaced.append((label, "not a Canvas submission file name "
                                    "(<name>_[LATE_]<user id>_<file id>_<file>)"))
            return None
        filename = "/".join([cf.filename, *rel[1:]])
        student, why, ident = _identify_canvas(cf, roster)
    else:
        found, why = files.identify(e, rel)
        if found is None:
            (result.ignored if rel and rel[-1] == TIMESTAMP else result.unplaced).append(
                (label, _TIMESTAMP_IGNORED if rel and rel[-1] == TIMESTAMP else why))
            return None
        student, filename, stamp, any_name = found
    if PurePosixPath(filename).name == TIMESTAMP:
        result.ignored.append((label, _TIMESTAMP_IGNORED))
        return None
    if not filename.endswith(".ipynb"):
        (result.ignored if filename.endswith(".html") and kind == "canvas"
         else result.unplaced).append((label, "not a notebook"))
        return None
    if student is None:
        result.unplaced.append((label, why))
        return None
    if not STUDENT_ID.match(student):
        result.unplaced.append((label, f"student id {archive.display(student)!r} is not a "
                                "valid id"))
        return None
    name, exact, version = match_notebook(filename, notebooks, any_name)
    if name is None:
        result.unplaced.append((label, (f"not a notebook of {aid} ({', '.join(notebooks)})"
                                        + ("" if any_name else
                                           ": name it <student id>_<notebook>.ipynb"))))
        return None
    return Candidate(e, label, student, name, exact, version, ident, when, stamp)


_TIMESTAMP_IGNORED = ("a timestamp.txt inside the submission: the submission time comes only "
                      "from the LMS (Moodle's worksheet, nbgrader's attempt_<time> file names), "
                      "never from the student's files")


# --- placing ---------------------------------------------------------------------------------
def _newer_collected(c, when, old):
    """Why the collected submission ``old`` is newer than candidate ``c``, or "" when it is
    not known to be: by the LMS's submission times, else (Canvas) by its attachment ids, which
    grow with every upload.  A Moodle download without the worksheet has neither: its
    notebook replaces the collected one."""
    if when and old.get("submitted_at"):
        if when < old["submitted_at"]:
            return f"submitted {when}, the collected one {old['submitted_at']} is newer"
        return ""
    new_id, old_id = (c.ident or {}).get("attachment_id"), old.get("attachment_id")
    if new_id and old_id and old.get("lms") == "canvas" and int(new_id) < int(old_id):
        return f"Canvas file {new_id}, the collected one ({old_id}) was uploaded later"
    return ""


def backup_dir(course, student, aid):
    """Where the notebooks replaced by ``collect`` go: a new folder per replacement."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    return course.root / "submitted" / BACKUP_DIR / student / aid / stamp


def _back_up(course, student, aid, dest):
    """Move notebook ``dest`` into a new backup folder (with a copy of its timestamp.txt);
    the folder."""
    target = backup_dir(course, student, aid)
    target.mkdir(parents=True)
    if (dest.parent / TIMESTAMP).is_file():
        shutil.copy2(dest.parent / TIMESTAMP, target / TIMESTAMP)
    os.replace(dest, target / dest.name)
    return target


def _place(course, aid, c, recs, result, replace):
    data = c.entry.read()
    problem = notebook_problem(data)
    digest = hashlib.sha256(data).hexdigest()
    when = c.submitted_at.astimezone(timezone.utc).isoformat() if c.submitted_at else ""
    dest_dir = course.submitted_dir(c.student, aid)
    dest = dest_dir / f"{c.notebook}.ipynb"
    stamp = dest_dir / TIMESTAMP
    old = recs.get(c.student, {}) if c.ident is not None else {}
    backup = None
    if dest.is_file():
        current = dest.read_bytes()
        same = current == data
        if same and (old.get("submitted_at", "") == when or not when):
            # the same notebook again; a download without times keeps the time we have
            result.unchanged.append((c.label, dest))
            return
        if not same:
            current_problem = notebook_problem(current)
            if problem and not current_problem and not replace:
                result.unplaced.append((c.label, (
                    f"not a readable notebook ({problem}); {c.student}'s collected "
                    f"{c.notebook}.ipynb is readable and was kept. Ask the student for the file "
                    "again, or collect with --replace to use this one all the same (the "
                    f"collected one is then kept in submitted/{BACKUP_DIR}/)")))
                return
            newer = "" if current_problem and not problem else _newer_collected(c, when, old)
            if newer:
                result.kept.append((c.label, newer))
                return
            backup = _back_up(course, c.student, aid, dest)
    dest_dir.mkdir(parents=True, exist_ok=True)
    if not dest.is_file() or dest.read_bytes() != data:
        tmp = dest.with_name(f".{dest.name}.nncourse-tmp")
        tmp.write_bytes(data)
        os.replace(tmp, dest)
    if when or c.stamp:
        stamp.write_text(when or c.stamp)
    elif stamp.exists() and old.get("submitted_at"):
        stamp.unlink()                 # the time came from an earlier download of ours
    if c.ident is not None:
        recs[c.student] = {**c.ident, "submitted_at": when, "source": c.label,
                           "sha256": digest, "notebook": c.notebook}
    result.placed.append((c.label, dest))
    if backup is not None:
        result.replaced.append((c.label, str(backup.relative_to(course.root))))
    if problem:
        result.unreadable.append((c.label, problem))
    if not c.exact:
        result.renamed.append((c.label, f"{c.notebook}.ipynb"))
