"""Moodle's assignment: "Download all submissions" names in, worksheet and feedback zip out.

Where the layouts come from (Moodle's own code, mod/assign):

- download (``locallib.php``, ``download_submissions``): the prefix is the full name with "_"
  replaced by " " (or ``Participant`` under blind marking), "_", the participant id
  (``get_uniqueid_for_user``, one per user *and assignment*); then "_<plugin subtype>_<plugin
  type>_".  "Download submissions in folders" (default since Moodle 3.1) makes that a folder,
  ``山田 太郎_1234567_assignsubmission_file_/loss_functions.ipynb``; the flat layout prefixes the
  file name, ``山田 太郎_1234567_assignsubmission_file_loss_functions.ipynb``.  Online text goes
  to ``…_assignsubmission_onlinetext_/onlinetext.html`` (ignored here).
- offline grading worksheet (``feedback/offline``): the importer finds the columns by their
  header in the Moodle user's language: "Identifier" (``recordid``; values "Participant <id>",
  the id after ``hiddenuser`` = "Participant "), "Grade", "Last modified (grade)" are required;
  "Feedback comments" (the comments plugin's editor field) is imported when present.  A row is
  skipped when Moodle's grade changed more than 60 s after "Last modified (grade)" (unless
  "Allow updating records that have been modified more recently in Moodle" is ticked).
- feedback zip (``feedback/file/importziplib.php``): each path part is split on "_" (at most 5
  pieces): name, participant id, plugin subtype, plugin type, rest, so
  ``<Full name>_<id>_assignfeedback_file_/<file>`` gives ``<file>`` to that participant.
"""
import csv
import io
import re
from dataclasses import dataclass

from ..core.safetext import csv_writer
from .deadlines import parse_lms_time
from .roster import read_csv_text

# the first part of an entry's path (Moodle's own): the full name has no "_" (Moodle writes
# them as spaces), so the first "_<digits>_assignsubmission_" is always Moodle's
PREFIX = re.compile(r"^(?P<name>[^_/]*)_(?P<pid>\d+)_(?P<subtype>assignsubmission|assignfeedback)_"
                    r"(?P<plugin>[a-z0-9]+)_(?P<rest>[^/]*)$")
BLIND_NAMES = {"participant"}           # get_string('participant', 'assign') in English

# the worksheet's columns as Moodle (English) writes them; MOODLE_WORKSHEET_HEADERS in
# course_config.py renames them for a Moodle used in another language
WORKSHEET_COLUMNS = ["Identifier", "Full name", "Email address", "Status", "Grade",
                     "Maximum Grade", "Grade can be changed", "Last modified (submission)",
                     "Last modified (grade)", "Feedback comments"]
SUBMITTED_TIME_HEADERS = ("Last modified (submission)",)
IDENTIFIER_PREFIXES = ("Participant ",)


@dataclass
class MoodleFile:
    full_name: str            # as in the download ("" under blind marking)
    participant_id: str
    plugin: str               # "file", "onlinetext", …
    filename: str             # the student's file name (path inside the folder)
    blind: bool
    layout: str               # "folders" | "flat"


def parse(name):
    """A MoodleFile for a download entry's path, or None when it is not Moodle's.

    Only the path's first part is Moodle's (the folder, or the file of the flat layout); the
    rest is the student's and never decides who it is.  A flat entry may go on into a zip
    the student uploaded: ``<name>_<id>_assignsubmission_file_work.zip/loss.ipynb``."""
    first, *inner = name.split("/")
    m = PREFIX.match(first)
    if not m or m["subtype"] != "assignsubmission":
        return None
    if m["rest"]:
        filename, layout = "/".join([m["rest"], *inner]), "flat"
    elif inner:
        filename, layout = "/".join(inner), "folders"
    else:
        return None
    full = m["name"]
    blind = full.strip().lower() in BLIND_NAMES
    return MoodleFile("" if blind else full.strip(), m["pid"], m["plugin"], filename, blind,
                      layout)


def participant_of(identifier):
    """'Participant 1234567' -> '1234567' (None when it is not such an identifier)."""
    text = (identifier or "").strip()
    for p in IDENTIFIER_PREFIXES:
        if text.startswith(p) and text[len(p):].strip().isdigit():
            return text[len(p):].strip()
    return text if text.isdigit() else None


def read_worksheet(path):
    """{participant id: row dict} of a grading worksheet downloaded from Moodle."""
    rows = {}
    for row in csv.DictReader(io.StringIO(read_csv_text(path))):
        first = next(iter(row.values()), "")
        pid = participant_of(first)
        if pid:
            rows[pid] = row
    return rows


def worksheet_submitted_at(row, tz):
    """The "Last modified (submission)" time of a worksheet row as an aware datetime, or None."""
    for h in SUBMITTED_TIME_HEADERS:
        if row.get(h):
            return parse_lms_time(row[h], tz)
    return None


def worksheet_csv(rows, headers=None):
    """The worksheet as text (UTF-8, comma, a header row): ``rows`` are dicts by WORKSHEET_COLUMNS."""
    headers = headers or {}
    out = io.StringIO()
    w = csv_writer(out, lineterminator="\n")
    w.writerow([headers.get(c, c) for c in WORKSHEET_COLUMNS])
    for r in rows:
        w.writerow([r.get(c, "") for c in WORKSHEET_COLUMNS])
    return out.getvalue()


def feedback_entry_name(full_name, participant_id, filename, blind=False):
    """Where a feedback file goes in the "Upload multiple feedback files in a zip" zip."""
    name = "Participant" if blind or not full_name else full_name
    name = re.sub(r"[_/\\:*?\"<>|]", " ", name).strip() or "Participant"
    return f"{name}_{participant_id}_assignfeedback_file_/{filename}"
