"""A new nbgrader gradebook gets its schema revision without a new process (nncourse/__init__.py:
nbgrader ran ``alembic heads``, 5-10 s per new gradebook, once per assignment and course)."""
import os
import sqlite3
import subprocess
import sys

import pytest
from nbgrader.api import Gradebook
from nbgrader.dbutil import _temp_alembic_ini

import nncourse


def _revision(path):
    with sqlite3.connect(path) as db:
        return db.execute("SELECT version_num FROM alembic_version").fetchall()


def test_a_new_gradebook_starts_no_process(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"a process was started: {args[:1]}")
    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}", "c") as gb:
        gb.add_assignment("a1")
    assert _revision(tmp_path / "gradebook.db") == [(nncourse.alembic_head(),)]


@pytest.mark.slow     # nbgrader's own way: a process that imports nbgrader (5-10 s)
def test_the_revision_is_the_one_nbgraders_alembic_command_gives(tmp_path):
    with _temp_alembic_ini(f"sqlite:///{tmp_path / 'unused.db'}") as ini:
        out = subprocess.run([sys.executable, "-m", "alembic", "-c", ini, "heads"],
                             capture_output=True, text=True, check=True).stdout
    assert out.split()[0] == nncourse.alembic_head()
    # and nbgrader's upgrade command takes a gradebook made here as current
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}", "c"):
        pass
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    done = subprocess.run([sys.executable, "-m", "nbgrader", "db", "upgrade"], cwd=tmp_path,
                          capture_output=True, text=True, env=dict(os.environ, PATH=path))
    assert done.returncode == 0, done.stderr[-2000:]
    assert _revision(tmp_path / "gradebook.db") == [(nncourse.alembic_head(),)]
