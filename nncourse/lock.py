"""One nncourse writer at a time on a course's gradebook, across processes on this machine.

Grading workers never touch the course's gradebook (each grades into a scratch one, see
``grading/task.py``); the coordinator merges results under this lock, and other nncourse
commands (``feedback``, ``build``, the report) take it too.  Formgrader and stock nbgrader
do not: SQLite's and PostgreSQL's own transactions keep their writes whole.
"""
import fcntl
import os
from pathlib import Path


class GradebookLock:
    """A re-entrant, process-wide ``flock`` on a file next to the grading state."""

    def __init__(self):
        self.path = None      # None: no lock configured (e.g. ``nncourse check``): all no-ops
        self._fd = None
        self._depth = 0

    def configure(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def acquire(self):
        if self.path is None:
            return
        if self._depth == 0:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        self._depth += 1

    def release(self):
        if self.path is None or self._depth == 0:
            return
        self._depth -= 1
        if self._depth == 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()


GRADEBOOK_LOCK = GradebookLock()
