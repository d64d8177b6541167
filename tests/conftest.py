"""Shared fixtures: the course's assignments and a throw-away copy of the course directory."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
BIN = Path(sys.executable).parent
COURSE_FILES = ["course_config.py", "nbgrader_config.py", "source", "autograders", "reference"]


def assignments():
    """(assignment id, source notebook path) for every assignment present in source/."""
    import course_config
    out = []
    for aid in course_config.ASSIGNMENTS:
        for nb in sorted((ROOT / "source" / aid).glob("*.ipynb")):
            out.append((aid, nb))
    return out


def copy_course(dest):
    """Copy the course (symlinks resolved, as a release would ship them) into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
    for name in COURSE_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        else:
            shutil.copy(src, dest / name)
    return dest


def nbgrader(course, *args, check=True):
    """Run a stock nbgrader command in ``course`` (it reads the course's nbgrader_config.py)."""
    env = dict(os.environ, PATH=os.pathsep.join([str(BIN), os.environ.get("PATH", "")]))
    proc = subprocess.run([str(BIN / "nbgrader"), *args], cwd=course, capture_output=True,
                          text=True, env=env)      # nbgrader runs `alembic` from this venv
    if check and proc.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def course_copy(tmp_path):
    return copy_course(tmp_path / "course")
