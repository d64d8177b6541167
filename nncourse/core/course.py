"""The course directory: its ``course_config.py`` settings, paths and nbgrader config.

Everything in nncourse takes a ``Course`` so that it works on the course itself and on any
copy of it (tests, ``validate`` and ``demo`` run on copies).  The settings module is loaded
from the directory by path, never with ``import course_config``.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import sys
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import nbformat
from nbgrader.coursedir import CourseDirectory

if TYPE_CHECKING:
    from traitlets.config import Config

from . import settings as settings_schema
from .safetext import encodable

# files and folders that make a course (copied by ``copy_course``); the rest is output
COURSE_FILES = ("course_config.py", "nbgrader_config.py", "source", "reference", "autograders")
STATE_DIR = ".nncourse"        # inside autograded/: per-submission results, logs, the lock
# feedback/_mathjax/: the feedback pages' shared MathJax (feedback/mathjax.py).  No student id
# starts with "_" (lms.roster.STUDENT_ID); a submitted/_mathjax folder is refused all the same
SHARED_FEEDBACK_DIR = "_mathjax"
DETACHED_GRADEBOOK = ("\n# added by nncourse's copy_course: this copy has its own gradebook.db, "
                      "not the course's database\nGRADEBOOK_URL = \"\"\n")


class CourseError(Exception):
    """A problem with the course directory or its settings (exit status 2)."""


@dataclass
class Course:
    """A course directory and its settings module."""
    root: Path
    settings: ModuleType

    @classmethod
    def load(cls, course_dir: str | os.PathLike[str] | None = None) -> Course:
        """Load ``<course_dir>/course_config.py`` (default: the current directory)."""
        root = Path(course_dir or ".").resolve()
        path = root / "course_config.py"
        if not path.is_file():
            raise CourseError(f"no course_config.py in {root}: run nncourse from the course "
                              "directory or pass --course-dir")
        name = "course_config_" + hashlib.sha1(str(root).encode()).hexdigest()[:12]
        spec = importlib.util.spec_from_file_location(name, path)
        settings = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(settings)
        return cls(root, settings)

    # --- settings ---------------------------------------------------------------------
    def setting(self, name: str) -> Any:
        """A course setting (``core/settings.py``: its default when course_config.py leaves it
        out); CourseError when its value has the wrong type."""
        try:
            return settings_schema.value(self.settings, name)
        except settings_schema.SettingError as exc:
            raise CourseError(str(exc)) from None

    def unknown_settings(self) -> list[str]:
        """Lines naming the keys of course_config.py that are no setting (e.g. misspelt)."""
        return settings_schema.unknown(self.settings)

    @property
    def course_id(self) -> str:
        return self.settings.COURSE_ID

    @property
    def assignments(self) -> list[str]:
        return list(self.settings.ASSIGNMENTS)

    def select(self, assignments: Collection[str] | None = None) -> list[str]:
        """The named assignments (all when none), checked against ASSIGNMENTS."""
        if not assignments:
            return self.assignments
        unknown = [a for a in assignments if a not in self.assignments]
        if unknown:
            raise CourseError(f"unknown assignment(s) {', '.join(unknown)}; "
                              f"course_config.ASSIGNMENTS = {self.assignments}")
        return [a for a in self.assignments if a in assignments]   # lecture order

    # --- paths ------------------------------------------------------------------------
    def source_dir(self, aid: str) -> Path:
        return self.root / "source" / aid

    def release_dir(self, aid: str) -> Path:
        return self.root / "release" / aid

    def submitted_dir(self, student: str, aid: str) -> Path:
        return self.root / "submitted" / student / aid

    def autograded_dir(self, student: str, aid: str) -> Path:
        return self.root / "autograded" / student / aid

    @property
    def feedback_root(self) -> Path:
        return self.root / "feedback"

    def feedback_dir(self, student: str, aid: str) -> Path:
        return self.feedback_root / student / aid

    @property
    def state_dir(self) -> Path:
        return self.root / "autograded" / STATE_DIR

    @property
    def gradebook_path(self) -> Path:
        """The default gradebook, an SQLite file (used when GRADEBOOK_URL is empty)."""
        return self.root / "gradebook.db"

    @property
    def db_url(self) -> str:
        """The gradebook's SQLAlchemy URL: ``GRADEBOOK_URL``, or the SQLite file
        ``gradebook.db`` in the course directory when that is empty."""
        return self.setting("GRADEBOOK_URL") or f"sqlite:///{self.gradebook_path}"

    @property
    def gradebook_name(self) -> str:
        """The gradebook for messages: its file, or its URL without a password."""
        if not self.setting("GRADEBOOK_URL"):
            return str(self.gradebook_path)
        from sqlalchemy.engine import make_url
        try:
            return make_url(self.db_url).render_as_string(hide_password=True)
        except Exception:           # not a URL SQLAlchemy understands: nbgrader will say so
            return "(an unreadable GRADEBOOK_URL)"

    def has_gradebook(self) -> bool:
        """Whether the gradebook exists: the SQLite file, or nbgrader's tables in the
        database of GRADEBOOK_URL.  CourseError when that database cannot be reached."""
        if not self.setting("GRADEBOOK_URL"):
            return self.gradebook_path.exists()
        if self.__dict__.get("_gradebook_seen") == self.db_url:   # tables, once made, stay
            return True
        from sqlalchemy import create_engine, inspect
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import SQLAlchemyError
        try:
            url = make_url(self.db_url)
            if url.get_backend_name() == "sqlite":     # connecting would create the file
                if not url.database or url.database == ":memory:" \
                        or not Path(url.database).exists():
                    return False
            engine = create_engine(url)
            try:
                found = inspect(engine).has_table("assignment")
            finally:
                engine.dispose()
        except (SQLAlchemyError, ValueError, ImportError) as exc:
            raise CourseError(f"cannot open the gradebook {self.gradebook_name} "
                              f"(course_config.GRADEBOOK_URL): {exc}") from exc
        if found:
            self._gradebook_seen = self.db_url
        return found

    def notebooks(self, aid: str) -> list[str]:
        """Notebook names (without .ipynb) of an assignment's source, sorted."""
        return sorted(p.stem for p in self.source_dir(aid).glob("*.ipynb"))

    def students(self, assignments: Collection[str] | None = None) -> list[str]:
        """Student ids with a submission of any of the assignments, sorted (a folder whose
        name is not UTF-8, or is the feedback pages' shared folder, is no student id:
        ``unnamed_students``)."""
        return [s for s in self._student_folders(assignments) if not _not_a_student(s)]

    def unnamed_students(self, assignments: Collection[str] | None = None
                         ) -> list[tuple[str, str]]:
        """Folders of submitted/ with a submission that no student id can name: (the name,
        escaped for messages; why, English).  Nothing can record or show them, ``nncourse
        grade`` names them."""
        return [(encodable(s), _not_a_student(s)) for s in self._student_folders(assignments)
                if _not_a_student(s)]

    def _student_folders(self, assignments: Collection[str] | None = None) -> list[str]:
        sub = self.root / "submitted"
        if not sub.is_dir():
            return []
        aids = assignments or self.assignments
        return sorted(p.name for p in sub.iterdir()
                      if p.is_dir() and not p.name.startswith(".")
                      and any((p / a).is_dir() for a in aids))

    def read_source(self, aid: str, notebook: str | None = None) -> nbformat.NotebookNode:
        notebook = notebook or self.notebooks(aid)[0]
        return nbformat.read(self.source_dir(aid) / f"{notebook}.ipynb", as_version=4)

    # --- nbgrader (the config itself: nbconfig.py) -------------------------------------
    def prepare_environment(self) -> None:
        """PYTHONPATH with this course first; this Python's bin on PATH (nbgrader runs
        ``alembic`` when it creates a gradebook)."""
        self.put_first_on_pythonpath()
        bindir = os.path.dirname(sys.executable)
        if bindir not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = os.pathsep.join([bindir, os.environ.get("PATH", "")])

    def put_first_on_pythonpath(self) -> None:
        """Kernels started from here import this course's autograders/reference first."""
        parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                 if p and p != str(self.root)]
        os.environ["PYTHONPATH"] = os.pathsep.join([str(self.root)] + parts)

    def coursedir(self, config: Config, assignment_id: str = "",
                  student_id: str = "*") -> CourseDirectory:
        """An nbgrader CourseDirectory for one assignment (and student glob); ``config``:
        ``nbconfig.nbgrader_config(course)``."""
        cd = CourseDirectory(config=config)
        cd.assignment_id = assignment_id
        cd.student_id = student_id
        return cd


def _not_a_student(folder: str) -> str:
    """Why a folder of submitted/ cannot be a student's (English), or ""."""
    if encodable(folder) != folder:
        return "the student folder's name is not UTF-8; rename it"
    if folder == SHARED_FEEDBACK_DIR:
        return (f"{SHARED_FEEDBACK_DIR} is the name of the feedback pages' shared folder "
                f"(feedback/{SHARED_FEEDBACK_DIR}), never a student id; rename it")
    return ""


def copy_course(src_root: str | os.PathLike[str], dest_root: str | os.PathLike[str]) -> Path:
    """Copy the files that make a course (not its outputs) to ``dest_root``; symlinks stay.

    The gradebook is an output too: a copy of a course whose GRADEBOOK_URL names a database
    (``validate``, ``demo``, tests) gets ``GRADEBOOK_URL = ""``, its own ``gradebook.db``,
    so that grading the copy never writes into the course's database."""
    src_root, dest_root = Path(src_root), Path(dest_root)
    dest_root.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
    for name in COURSE_FILES:
        src = src_root / name
        if src.is_dir():
            shutil.copytree(src, dest_root / name, symlinks=True, ignore=ignore,
                            dirs_exist_ok=True)
        elif src.is_file():
            shutil.copy2(src, dest_root / name)
    config = dest_root / "course_config.py"
    if (src_root / "course_config.py").is_file() and config.is_file() \
            and Course.load(src_root).setting("GRADEBOOK_URL"):
        text = config.read_text(encoding="utf-8")
        config.write_text(text + ("" if text.endswith("\n") else "\n") + DETACHED_GRADEBOOK,
                          encoding="utf-8")
    return dest_root


def tree_digest(paths: Iterable[str | os.PathLike[str]]) -> str:
    """SHA-256 over the names and contents of files (symlinks followed) under ``paths``."""
    h = hashlib.sha256()
    for base in paths:
        base = Path(base)
        files = [base] if base.is_file() else sorted(
            p for p in base.rglob("*") if p.is_file() and "__pycache__" not in p.parts
            and not p.name.endswith(".pyc"))
        for p in files:
            h.update(str(p.relative_to(base.parent)).encode() + b"\0")
            h.update(p.read_bytes())
            h.update(b"\0")
    return h.hexdigest()
