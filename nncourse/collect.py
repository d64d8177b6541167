"""``nncourse collect ASSIGNMENT PATH [--roster roster.csv] [--replace]``: submissions into submitted/.

PATH is a zip (as downloaded from the LMS) or a folder, in one of these layouts:

- Moodle's "Download all submissions", in folders or flat, blind marking too
  (``nncourse/lms/moodle.py`` says where the layout comes from);
- Canvas's "Download Submissions" (``nncourse/lms/canvas.py``);
- files: notebooks whose file names carry the student id (nbgrader ``zip_collect``'s
  convention ``<student id>_[attempt_<time>_]<notebook>.ipynb``, matched as its
  ``FileNameCollectorPlugin`` does), or a folder with one sub-folder per student.

For the LMS layouts a roster (``nncourse/lms/roster.py``) maps the LMS identity to the
course's student id; a file that matches no roster row is listed, never guessed.  Who a file
is and when it was submitted come only from the LMS's part of its name and the LMS's
worksheet, never from the student's own files (``nncourse/lms/collecting.py``).  Collecting
the same download again changes nothing; a newer download replaces only the submissions that
changed (and never a newer one by an older one); a replaced notebook is kept in
``submitted/.nncourse-backup/``.  The download is read within the ``COLLECT_MAX_*`` limits,
never following a link (``nncourse/lms/archive.py``).  Every file that could not be placed is
reported with the reason; one bad file never stops the others.
"""
from pathlib import Path

from .lms.archive import ArchiveError
from .lms.collecting import CollectResult, collect_download

__all__ = ["ArchiveError", "CollectResult", "collect"]


def collect(course, aid, path, roster=None, worksheet=None, lms="auto", replace=False):
    """Place the submissions found at ``path``; returns a CollectResult.

    ``roster``: a roster CSV (path) or ``lms.roster.Roster``; ``worksheet``: Moodle's grading
    worksheet CSV downloaded with the submissions (submission times, e-mail addresses);
    ``lms``: "auto" (from the file names), "moodle", "canvas" or "files"; ``replace``: an
    unreadable notebook replaces a readable one all the same (the old one is backed up).
    ArchiveError when the download cannot be read at all (nothing is placed)."""
    aid = course.select([aid])[0]
    return collect_download(course, aid, Path(path), lms=lms, roster=roster,
                            worksheet=worksheet, replace=replace)
