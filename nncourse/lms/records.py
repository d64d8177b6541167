"""What ``collect`` keeps about each collected submission, for ``export`` and the deadlines.

``autograded/.nncourse/lms/<assignment>.json``: {student id: record}; a record has ``lms``
("moodle" | "canvas" | "files"), the LMS identity (``participant_id``, ``full_name``, ``blind``;
``canvas_user_id``, ``attachment_id``, ``canvas_name``), ``late`` (the LMS's late mark),
``submitted_at`` (ISO 8601, UTC, when the LMS told it), ``source`` (the entry it came from) and
``sha256`` of the notebook.  The submission time also goes to nbgrader's ``timestamp.txt``.

Both are written only by ``collect`` from what the LMS says (Moodle's worksheet, Canvas's names,
nbgrader's ``attempt_<time>`` file names): a ``timestamp.txt`` among a student's own files is
never read (``collecting.py`` lists it as ignored), and ``collect`` places only notebooks.
"""
import json

from ..core.files import atomic_write


def path(course, aid):
    return course.state_dir / "lms" / f"{aid}.json"


def load(course, aid):
    try:
        return json.loads(path(course, aid).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def save(course, aid, records):
    atomic_write(path(course, aid), json.dumps(records, ensure_ascii=False, indent=1,
                                               sort_keys=True))
