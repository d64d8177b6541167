"""Canvas: "Download Submissions" names in, the gradebook import CSV (and re-upload zip) out.

Where the layouts come from:

- download (canvas-lms ``lib/content_zipper.rb``): ``get_filename`` joins the student's sortable
  name ("Last, First", lower-cased, everything but word characters removed), ``LATE`` when the
  submission is late, and the user id (``anon_<id>`` for anonymous grading) with "_"; an upload
  then adds ``_<attachment id>_<file name>``: ``yamadataro_LATE_4321_98765_loss_functions.ipynb``.
  Older downloads wrote a lower-case ``late``.  A student who uploads a file whose name already
  exists in their files gets it renamed ``loss_functions-1.ipynb`` (``-N``).
- gradebook import (Canvas Guides, "How do I import grades in the Gradebook?", and Canvas's own
  export): columns ``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section`` and one
  column per assignment titled ``<Assignment name> (<assignment id>)``; a second row starting
  with ``Points Possible`` is allowed (Canvas's export writes it, the import skips it).  Rows are
  matched by ``ID`` (the Canvas user id), else by the SIS ids.
- re-upload zip ("Re-upload Submissions" in the assignment's gradebook menu): files named like
  the download (``_<user id>_<attachment id>_``) go back to that submission as feedback.
"""
import io
import re
from dataclasses import dataclass

from ..core.safetext import csv_writer

NAME = re.compile(r"^(?:(?P<name>[^_]+)_)??(?:(?P<late>LATE|late)_)?(?P<uid>anon_[A-Za-z0-9]+|\d+)_"
                  r"(?P<att>\d+)_(?P<file>.+)$")
VERSION = re.compile(r"^(?P<stem>.+?)-(?P<n>\d+)$")
GRADEBOOK_FIXED = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


@dataclass
class CanvasFile:
    name: str                 # sortable name as in the download ("" when anonymous)
    user_id: str              # Canvas user id, or anon_<id>
    attachment_id: str
    filename: str             # the file name as the student uploaded it (with -N)
    late: bool
    version: int              # N of "-N" (0 without)


def parse(basename):
    """A CanvasFile for a download file name, or None when it is not Canvas's."""
    m = NAME.match(basename)
    if not m:
        return None
    stem, dot, ext = m["file"].rpartition(".")
    v = VERSION.match(stem) if dot else None
    return CanvasFile(m["name"] or "", m["uid"], m["att"], m["file"], bool(m["late"]),
                      int(v["n"]) if v else 0)


def sortable_key(name):
    """A roster name as Canvas writes it in file names ("Yamada, Taro" -> "yamadataro")."""
    return re.sub(r"[^\w]", "", name or "").replace("_", "").lower()


def gradebook_csv(assignment_column, rows, points_possible=None):
    """The import CSV: ``rows`` are dicts with the fixed columns and "grade"."""
    out = io.StringIO()
    w = csv_writer(out, lineterminator="\n")
    w.writerow(GRADEBOOK_FIXED + [assignment_column])
    if points_possible is not None:
        w.writerow(["    Points Possible", "", "", "", "", f"{points_possible:g}"])
    for r in rows:
        w.writerow([r.get(c, "") for c in GRADEBOOK_FIXED] + [r["grade"]])
    return out.getvalue()


def reupload_entry_name(name, user_id, attachment_id, filename):
    """A feedback file named so that "Re-upload Submissions" finds its submission."""
    return f"{sortable_key(name) or 'student'}_{user_id}_{attachment_id}_{filename}"
