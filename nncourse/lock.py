"""One writer at a time on the gradebook (SQLite) across grading processes.

A worker holds the lock while nbgrader touches the gradebook and releases it while the
kernel executes the notebook (the slow part), so ``--jobs N`` runs notebooks in parallel and
the gradebook sees the same writes, in some order, as with ``--jobs 1``.
"""
import fcntl
import os
from contextlib import contextmanager
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

    @contextmanager
    def released(self):
        """Give the lock up entirely for the duration (no-op when not held)."""
        depth = self._depth
        for _ in range(depth):
            self.release()
        try:
            yield
        finally:
            for _ in range(depth):
                self.acquire()


GRADEBOOK_LOCK = GradebookLock()
