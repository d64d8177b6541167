"""One nncourse writer at a time on a course's gradebook, across processes on this machine;
one ``nncourse grade`` run at a time on a course (``RunLock``).

Grading workers never touch the course's gradebook (each grades into a scratch one, see
``grade/task.py``); the coordinator merges results under this lock, and other nncourse
commands (``feedback``, ``build``, the report) take it too.  Formgrader and stock nbgrader
do not: SQLite's and PostgreSQL's own transactions keep their writes whole.
"""
from __future__ import annotations

import fcntl
import functools
import json
import os
import platform
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from .course import Course

P = ParamSpec("P")
R = TypeVar("R")


class GradebookLock:
    """A re-entrant, process-wide ``flock`` on a file next to the grading state."""

    def __init__(self) -> None:
        self.path: Path | None = None   # None: no lock configured (e.g. ``nncourse check``): all no-ops
        self._fd: int | None = None
        self._depth = 0

    def configure(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def acquire(self) -> None:
        if self.path is None:
            return
        if self._depth == 0:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        self._depth += 1

    def release(self) -> None:
        if self.path is None or self._depth == 0:
            return
        self._depth -= 1
        if self._depth == 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> GradebookLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


GRADEBOOK_LOCK = GradebookLock()


class CourseBusy(Exception):
    """Another ``nncourse grade`` holds the course (the message names it)."""


class RunLock:
    """One ``nncourse grade`` at a time on a course: a non-blocking ``flock`` on
    ``<state dir>/grade.lock``, held for the whole run, whose file names the holder (pid,
    host, start time, command).  The kernel drops a flock when its process ends, however it
    ends: a lock never outlives its run.  A second run is refused at once (``CourseBusy``),
    before it grades or writes anything."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def holder(self) -> str:
        """What the lock file says about the run holding it ("" if unreadable)."""
        try:
            info = json.loads(self.path.read_text(encoding="utf-8"))
            return (f"pid {info['pid']} on {info['host']}, started {info['started']}: "
                    f"{info['command']}")
        except (OSError, ValueError, KeyError, TypeError):
            return "details unreadable"

    def acquire(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise CourseBusy(
                f"another `nncourse grade` is running on this course ({self.holder()}); "
                "wait for it to finish (or stop it with Ctrl-C), then run again: it skips "
                "what the other run graded") from None
        info = {"pid": os.getpid(), "host": platform.node(),
                "started": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
                "command": " ".join(["nncourse", *sys.argv[1:]]
                                    if Path(sys.argv[0]).name in ("nncourse", "cli.py")
                                    else sys.argv)}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def one_run_at_a_time(func: Callable[Concatenate[Course, P], R]
                      ) -> Callable[Concatenate[Course, P], R]:
    """Decorator: ``func(course, ...)`` runs holding the course's ``RunLock``."""
    @functools.wraps(func)
    def locked(course: Course, *args: P.args, **kwargs: P.kwargs) -> R:
        with RunLock(course.state_dir / "grade.lock"):
            return func(course, *args, **kwargs)
    return locked
