"""``nncourse collect ASSIGNMENT PATH [--roster roster.csv]``: submissions into submitted/.

PATH is a zip (as downloaded from the LMS) or a folder, in one of these layouts:

- Moodle's "Download all submissions", in folders or flat, blind marking too
  (``nncourse/lms/moodle.py`` says where the layout comes from);
- Canvas's "Download Submissions" (``nncourse/lms/canvas.py``);
- notebooks whose file names carry the student id (nbgrader ``zip_collect``'s convention,
  parsed with its ``FileNameCollectorPlugin``), or a folder with one sub-folder per student.

For the LMS layouts a roster (``nncourse/lms/roster.py``) maps the LMS identity to the
course's student id; a file that matches no roster row is listed, never guessed.  Collecting
the same download twice changes nothing; a newer download replaces only the submissions that
changed (and never a newer one by an older one).  Every file that could not be placed is
reported with the reason.
"""
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.plugins import ExtractorPlugin, FileNameCollectorPlugin

# "<student id>_<anything>.ipynb", e.g. "s0123_a1_loss.ipynb"; optionally with nbgrader's
# timestamp: "s0123_attempt_2024-05-01-10-00-00_a1_loss.ipynb".  COLLECT_REGEXP overrides.
DEFAULT_REGEXP = (r".*/(?P<student_id>[A-Za-z0-9.\-]+)_(?:attempt_(?P<timestamp>[0-9\-]+)_)?"
                  r"(?P<file_id>[^/]+\.ipynb)$")
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")
IGNORED = {"__MACOSX", ".DS_Store", "Thumbs.db", ".ipynb_checkpoints"}


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

    def format(self):
        lines = [f"{self.assignment}: placed {len(self.placed)} notebook(s) from "
                 f"{len({d.parent.parent.name for _, d in self.placed})} student(s)"
                 + (f" ({self.lms} download)" if self.lms != "files" else "")]
        if self.unchanged:
            lines.append(f"  {len(self.unchanged)} unchanged (already collected)")
        lines += [f"  renamed {s} -> {n}" for s, n in self.renamed]
        lines += [f"  kept the collected one, not {s}: {why}" for s, why in self.kept]
        lines += [f"  ignored {s}: {why}" for s, why in self.ignored]
        if self.missing:
            lines.append(f"  no submission from {len(self.missing)} roster student(s): "
                         + ", ".join(self.missing))
        if self.unplaced:
            lines.append(f"could not place {len(self.unplaced)} file(s):")
            lines += [f"  {s}: {why}" for s, why in self.unplaced]
        return "\n".join(lines)


def _notebook_name(file_id, notebooks):
    """The assignment's notebook this file is, or None."""
    stem = Path(file_id).stem
    if stem in notebooks:
        return stem
    if len(notebooks) == 1:          # one notebook per assignment: any name will do
        return notebooks[0]
    return None


def _place(course, aid, student, src, name, result, label, timestamp=None, given=None):
    if not STUDENT_ID.match(student):
        result.unplaced.append((label, f"student id {student!r} is not a valid id"))
        return
    dest_dir = course.submitted_dir(student, aid)
    dest = dest_dir / f"{name}.ipynb"
    if any(d == dest for _, d in result.placed):
        result.unplaced.append((label, f"a second {name}.ipynb of {student} (kept the first)"))
        return
    dest_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    if timestamp:
        (dest_dir / "timestamp.txt").write_text(timestamp)
    result.placed.append((label, dest))
    if Path(given or src).stem != name:
        result.renamed.append((label, f"{name}.ipynb"))


def _from_student_folder(course, aid, folder, notebooks, result, root):
    files = [p for p in sorted(folder.rglob("*")) if p.is_file()
             and not IGNORED & set(p.relative_to(root).parts)]
    stamp = next((p for p in files if p.name == "timestamp.txt"), None)
    for p in files:
        label = str(p.relative_to(root))
        if p.name == "timestamp.txt":
            continue
        if p.suffix != ".ipynb":
            result.unplaced.append((label, "not a notebook"))
            continue
        name = _notebook_name(p.name, notebooks)
        if name is None:
            result.unplaced.append((label, f"not a notebook of {aid} ({', '.join(notebooks)})"))
            continue
        _place(course, aid, folder.name, p, name, result, label,
               stamp.read_text().strip() if stamp else None)


def collect(course, aid, path, roster=None, worksheet=None, lms="auto"):
    """Place the submissions found at ``path``; returns a CollectResult.

    ``roster``: a roster CSV (path) or ``lms.roster.Roster``; ``worksheet``: Moodle's grading
    worksheet CSV downloaded with the submissions (submission times, e-mail addresses);
    ``lms``: "auto" (from the file names), "moodle", "canvas" or "files"."""
    aid = course.select([aid])[0]
    path = Path(path).resolve()
    if path.exists():
        from .lms import collecting
        kind = collecting.detect(path) if lms == "auto" else lms
        if kind in ("moodle", "canvas"):
            return collecting.collect_lms(course, aid, path, kind, roster, worksheet)
    return _collect_files(course, aid, path)


def _collect_files(course, aid, path):
    """nbgrader's file names or a folder per student (the layout before LMS downloads)."""
    notebooks = course.notebooks(aid)
    result = CollectResult(aid)
    with tempfile.TemporaryDirectory(prefix="nncourse-collect-") as tmp:
        if path.is_file():                      # an archive: nbgrader's extractor
            archive, root = Path(tmp) / "archive", Path(tmp) / "extracted"
            archive.mkdir()
            root.mkdir()
            shutil.copy(path, archive / path.name)
            ExtractorPlugin().extract(str(archive), str(root))
        elif path.is_dir():
            root = path
        else:
            result.unplaced.append((str(path), "no such file or folder"))
            return result
        collector = FileNameCollectorPlugin(
            named_regexp=course.setting("COLLECT_REGEXP", DEFAULT_REGEXP))
        # an export wrapped in one folder of named files: look inside it
        entries = [p for p in root.iterdir() if p.name not in IGNORED]
        while (len(entries) == 1 and entries[0].is_dir()
               and (not any(entries[0].glob("*.ipynb"))
                    or any(collector.collect(str(p)) for p in entries[0].glob("*.ipynb")))):
            root = entries[0]
            entries = [p for p in root.iterdir() if p.name not in IGNORED]
        for entry in sorted(root.iterdir()):
            if entry.name in IGNORED:
                continue
            if entry.is_dir():   # a folder per student
                _from_student_folder(course, aid, entry, notebooks, result, root)
                continue
            info = collector.collect(str(entry))
            if not info:
                why = ("not a notebook" if entry.suffix != ".ipynb"
                       else "no student id in the file name (expected <student>_<name>.ipynb)")
                result.unplaced.append((entry.name, why))
                continue
            name = _notebook_name(info["file_id"], notebooks)
            if name is None:
                result.unplaced.append((entry.name, f"not a notebook of {aid}"))
                continue
            _place(course, aid, info["student_id"], entry, name, result, entry.name,
                   info.get("timestamp"), given=info["file_id"])
    return result
