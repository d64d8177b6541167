"""The LTI layer's Python API: one function per ``nncourse lti`` command and the AGS export.

It is apart from ``nncourse/api.py`` because it loads Flask, werkzeug and pylti1p3 (about
0.4 s of start-up): the CLI imports it only for ``nncourse lti ...`` and
``nncourse export --format lti``, so every other command starts without them
(tests/test_startup.py).

- ``keys``: the tool's RSA key pair (``keys.py``);
- ``server``: the tool's web app (``serve.py``, ``app.py``);
- ``export``: the grades of an assignment to the LMS gradebook by AGS (``passback.py``)."""
from __future__ import annotations

from pathlib import Path

from ..core.course import Course
from ..export import ExportResult
from . import keys as tool_keys
from .passback import export_lti
from .serve import ToolServer

__all__ = ["ToolServer", "export", "keys", "server"]


def keys(course: Course, rotate: bool = False) -> Path:
    """Make the LTI tool's RSA key pair in LTI_KEYS_DIR (git-ignored); returns the folder.
    CourseError when one exists and ``rotate`` is not set (``keys.py``)."""
    return tool_keys.generate(course, rotate=rotate)


def server(course: Course, host: str = "127.0.0.1", port: int = 0) -> ToolServer:
    """The LTI tool's web app on ``host:port`` (0: a free port), not yet serving: call
    ``serve_forever()`` or ``start()``.  CourseError when the key pair or a platform value
    is missing (``serve.py``, ``app.py``)."""
    return ToolServer(course, host, port)


def export(course: Course, aid: str, roster=None) -> ExportResult:
    """Post the grades of ``aid`` to the LMS gradebook by AGS (``passback.py``); ExportError
    when no LMS activity with a gradebook column is linked to it."""
    return export_lti(course, aid, roster)
