"""Which nncourse assignment each LMS activity is: an instructor's launch links the LTI
resource link (issuer, deployment, course context, resource link id) to an assignment.  Kept in
``lti/links.json`` of the course (git-ignored, like the gradebook), written whole
(``core/files.atomic_write``)."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from pathlib import Path

from ..core.course import Course
from ..core.files import atomic_write

_lock = threading.Lock()      # one writer at a time in `lti serve` (one process)


def path(course: Course) -> Path:
    return course.root / "lti" / "links.json"


def key(iss: str, deployment: str, context: str, resource_link: str) -> str:
    """The link's key: resource link ids are unique per deployment, kept with their course."""
    return json.dumps([iss, deployment, context, resource_link], ensure_ascii=False)


def load(course: Course) -> dict:
    try:
        data = json.loads(path(course).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return data if isinstance(data, dict) else {}


def assignment(course: Course, link_key: str) -> str | None:
    """The assignment linked to ``link_key``, or None (not linked, or no longer an
    assignment of the course)."""
    aid = (load(course).get(link_key) or {}).get("assignment")
    return aid if aid in course.assignments else None


def link(course: Course, link_key: str, aid: str, by: str, title: str,
         ags: dict | None = None) -> None:
    """Link ``link_key`` to assignment ``aid`` (replacing an earlier link), with who and when
    and the launch's AGS endpoint (its line item and scopes: where the grades go)."""
    with _lock:
        links = load(course)
        links[link_key] = {"assignment": aid, "title": title, "linked_by": by,
                           "linked_at": datetime.now(timezone.utc).isoformat(),
                           "ags": ags or None}
        atomic_write(path(course), json.dumps(links, ensure_ascii=False, indent=1,
                                              sort_keys=True))


def graded_links(course: Course, aid: str) -> list[dict]:
    """The links of ``aid`` whose launch offered a line item to post scores to (AGS)."""
    return [v for _, v in sorted(load(course).items())
            if v.get("assignment") == aid and (v.get("ags") or {}).get("lineitem")]
