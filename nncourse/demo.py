"""``nncourse demo``: build, create a sample cohort, grade it, show the results.

The demo runs on a copy of the course (default ``./demo``, ignored by git), so the
course's own gradebook and submissions are never touched.
"""
import shutil
from pathlib import Path

from .build import build
from .cohort import create_cohort
from .core.course import Course, CourseError, copy_course
from .grade.run import grade

MARKER = ".nncourse-demo"      # a folder with this file may be replaced by the next demo


def demo(course, dest=None, jobs=2, progress=True, cohort=None, slow=False):
    """Run the demo in ``dest``; returns the GradeRun (with ``.cohort`` descriptions)."""
    dest = Path(dest or course.root / "demo").resolve()
    if dest.exists():
        if not (dest / MARKER).exists():
            raise CourseError(f"{dest} exists and is not a demo folder: choose another --dir")
        shutil.rmtree(dest)
    copy_course(course.root, dest)
    (dest / MARKER).write_text("made by nncourse demo; replaced by the next demo\n")
    demo_course = Course.load(dest)
    build(demo_course)
    described = create_cohort(demo_course, cohort, slow=slow)
    run = grade(demo_course, jobs=jobs, progress=progress)
    run.cohort = described
    return run
