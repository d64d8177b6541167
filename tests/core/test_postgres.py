"""The gradebook's URL (``course_config.GRADEBOOK_URL``) and a PostgreSQL gradebook.

Fast: ``Course.db_url`` / ``has_gradebook`` / nbgrader's ``CourseDirectory.db_url`` follow the
setting, its default (``gradebook.db`` in the course) and NNCOURSE_GRADEBOOK_URL; copies made
by ``copy_course`` keep their own gradebook.db; ``has_gradebook`` on a real PostgreSQL server
(tests/postgres.py, ~1 s to start).
Slow: a small a1_loss cohort built and graded by nncourse into PostgreSQL, exported by stock
``nbgrader export``, reported: the same grades as the same cohort graded with SQLite, and no
gradebook.db anywhere.
"""
import csv
import os

import pytest
from traitlets.config import Config

from conftest import BIN, ROOT, nbgrader
from nncourse.core.course import Course, CourseError, copy_course

AID = "a1_loss"
STUDENTS = ("s01_reference", "s02_release", "s03_sse_no_half")
FAKE_PG = "postgresql+psycopg://grader@db.example:5432/gradebook"


def set_url(root, url):
    """Append ``GRADEBOOK_URL = url`` to the course_config.py of ``root``."""
    config = root / "course_config.py"
    config.write_text(config.read_text(encoding="utf-8") + f"\nGRADEBOOK_URL = {url!r}\n",
                      encoding="utf-8")


def nbgrader_db_url(course, monkeypatch):
    """What stock nbgrader gets from the course's nbgrader_config.py (course_config)."""
    monkeypatch.setenv("PYTHONPATH", os.environ.get("PYTHONPATH", ""))   # restored afterwards
    c = course.settings.configure_nbgrader(Config())
    return c.CourseDirectory.db_url if "db_url" in c.CourseDirectory else None


def with_alembic(monkeypatch):
    """nbgrader's Gradebook runs `alembic` (this venv's) when it creates a gradebook."""
    monkeypatch.setenv("PATH", os.pathsep.join([str(BIN), os.environ.get("PATH", "")]))


# --- fast: the setting ----------------------------------------------------------------------
def test_db_url_follows_the_setting_and_its_default(tmp_path, monkeypatch):
    monkeypatch.delenv("NNCOURSE_GRADEBOOK_URL", raising=False)
    course = Course.load(copy_course(ROOT, tmp_path / "default"))
    assert course.setting("GRADEBOOK_URL") == ""
    assert course.db_url == f"sqlite:///{course.root / 'gradebook.db'}"
    assert nbgrader_db_url(course, monkeypatch) is None        # nbgrader's own default: the same file
    assert not course.has_gradebook()
    (course.root / "gradebook.db").touch()
    assert course.has_gradebook()

    pg = Course.load(copy_course(ROOT, tmp_path / "pg"))
    set_url(pg.root, FAKE_PG)
    pg = Course.load(pg.root)
    assert pg.db_url == FAKE_PG
    assert nbgrader_db_url(pg, monkeypatch) == FAKE_PG
    assert pg.gradebook_name == FAKE_PG

    monkeypatch.setenv("NNCOURSE_GRADEBOOK_URL", FAKE_PG.replace("grader@", "grader:secret@"))
    env = Course.load(ROOT)                            # the course itself (read only)
    assert env.db_url == FAKE_PG.replace("grader@", "grader:secret@")
    assert "secret" not in env.gradebook_name
    # a copy of a course with a database URL (validate, demo) grades into its own gradebook.db
    detached = Course.load(copy_course(ROOT, tmp_path / "copy"))
    assert detached.db_url == f"sqlite:///{detached.root / 'gradebook.db'}"
    assert nbgrader_db_url(detached, monkeypatch) is None


def test_has_gradebook_with_an_sqlite_url_creates_no_file(tmp_path, monkeypatch):
    course = Course.load(copy_course(ROOT, tmp_path / "c"))
    elsewhere = tmp_path / "elsewhere.db"
    course.settings.GRADEBOOK_URL = f"sqlite:///{elsewhere}"
    assert course.db_url == f"sqlite:///{elsewhere}"
    assert not course.has_gradebook() and not elsewhere.exists()
    from nbgrader.api import Gradebook
    with_alembic(monkeypatch)
    with Gradebook(course.db_url, course.course_id):
        pass
    assert course.has_gradebook()
    assert not course.gradebook_path.exists()


@pytest.mark.slow     # ~8 s: stock nbgrader's start; nncourse's own use of the setting stays fast
def test_stock_nbgrader_uses_the_setting(tmp_path):
    root = copy_course(ROOT, tmp_path / "course")
    elsewhere = tmp_path / "elsewhere.db"
    set_url(root, f"sqlite:///{elsewhere}")
    nbgrader(root, "db", "student", "add", "u1")
    assert elsewhere.is_file() and not (root / "gradebook.db").exists()
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{elsewhere}", "nn-learning-course") as gb:
        assert [s.id for s in gb.students] == ["u1"]


# --- a real PostgreSQL server -----------------------------------------------------------
def test_has_gradebook_on_postgres(tmp_path, monkeypatch, postgres_url, postgres_server):
    course = Course.load(copy_course(ROOT, tmp_path / "c"))
    course.settings.GRADEBOOK_URL = postgres_url
    assert not course.has_gradebook()                  # an empty database: no gradebook yet
    from nbgrader.api import Gradebook
    with_alembic(monkeypatch)
    with Gradebook(course.db_url, course.course_id) as gb:
        gb.add_student("u1")
    assert course.has_gradebook()
    course.settings.GRADEBOOK_URL = postgres_server.url("no_such_database")
    with pytest.raises(CourseError, match="no_such_database"):
        course.has_gradebook()


def small_cohort(course):
    from nncourse.build import build
    from nncourse.cohort import DEFAULT_COHORT, create_cohort
    build(course, [AID])
    create_cohort(course, [e for e in DEFAULT_COHORT if e["student"] in STUDENTS], [AID])
    assert course.students() == list(STUDENTS)


def grades(url, course_id):
    """{(student, notebook, grade_id): (auto, manual, max, needs_manual)} and
    {student: (score, max_score)} of the gradebook at ``url``."""
    from nbgrader.api import Gradebook
    cells, totals = {}, {}
    with Gradebook(url, course_id) as gb:
        for sub in gb.find_assignment(AID).submissions:
            totals[sub.student.id] = (sub.score, sub.max_score)
            for nb in sub.notebooks:
                for g in nb.grades:
                    cells[(sub.student.id, nb.name, g.name)] = (
                        g.auto_score, g.manual_score, g.max_score, bool(g.needs_manual_grade))
    return cells, totals


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def report_scores(path):
    return {r["student_id"]: (float(r["score"]), float(r["max_score"])) for r in read_csv(path)}


@pytest.mark.slow
def test_grading_into_postgres_matches_sqlite(tmp_path, postgres_url):
    from nncourse.grade.run import grade
    from nncourse.report.write import write_report

    # the same cohort graded with the default SQLite gradebook
    lite = Course.load(copy_course(ROOT, tmp_path / "sqlite"))
    small_cohort(lite)
    lite_run = grade(lite, [AID], jobs=2, progress=False)
    assert lite.gradebook_path.is_file()

    root = copy_course(ROOT, tmp_path / "pg")
    set_url(root, postgres_url)
    course = Course.load(root)
    assert course.db_url == postgres_url and not course.has_gradebook()
    small_cohort(course)
    assert course.has_gradebook()
    run = grade(course, [AID], jobs=2, progress=False)
    assert [(r["student"], r["status"]) for r in run.results] == \
        [(r["student"], r["status"]) for r in lite_run.results] == \
        [(s, "graded") for s in STUDENTS]

    cells, totals = grades(postgres_url, course.course_id)
    lite_cells, lite_totals = grades(lite.db_url, lite.course_id)
    assert cells == lite_cells and totals == lite_totals
    auto_max = sum(mx for (s, _, _), (auto, _, mx, _) in cells.items()
                   if s == "s01_reference" and auto is not None)
    assert auto_max > 0 and totals["s01_reference"][0] == auto_max   # written answers: by hand
    assert totals["s02_release"][0] == 0
    assert 0 < totals["s03_sse_no_half"][0] < auto_max

    # stock nbgrader reads the same database (nbgrader_config.py -> course_config)
    nbgrader(root, "export", "--to", str(tmp_path / "export.csv"))
    exported = {r["student_id"]: r for r in read_csv(tmp_path / "export.csv")}
    assert set(exported) == set(STUDENTS)
    for student, (score, max_score) in totals.items():
        assert exported[student]["assignment"] == AID
        assert float(exported[student]["raw_score"]) == pytest.approx(score)
        assert float(exported[student]["max_score"]) == pytest.approx(max_score)

    # the report (again, after the export) with the gradebook's scores
    report = write_report(course, [AID])
    assert report.html.is_file()
    assert report_scores(report.csv) == totals == report_scores(lite_run.report.csv)
    assert {r["student"]: r["score"] for r in run.results} == \
        {r["student"]: r["score"] for r in lite_run.results}

    # nothing wrote an SQLite gradebook into the course
    assert not list(root.rglob("gradebook.db")), list(root.rglob("*.db"))
