"""The settings schema (nncourse/core/settings.py): each key once, with its default and type;
a misspelt key is reported, a value of the wrong type is refused with what it must be."""
import re
from pathlib import Path

import pytest

from nncourse.cli import main as cli_main
from nncourse.core.course import Course, CourseError
from nncourse.core.settings import SCHEMA

ROOT = Path(__file__).resolve().parents[2]


def _names_in_code():
    """Every upper-case string literal of nncourse/ (a setting is read by its name)."""
    names = set()
    for p in (ROOT / "nncourse").rglob("*.py"):
        names |= set(re.findall(r'"([A-Z][A-Z0-9_]+)"', p.read_text(encoding="utf-8")))
    return names


def test_every_setting_read_is_in_the_schema_and_every_schema_key_is_read():
    code = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "nncourse").rglob("*.py"))
    read = set(re.findall(r'\bsetting\("([A-Z_]+)"\)', code))
    assert read and read - set(SCHEMA) == set()
    assert set(SCHEMA) - _names_in_code() - {"COURSE_ID", "ASSIGNMENTS"} == set(), "unused"


def test_the_course_and_the_toy_course_use_only_known_settings():
    for root in (ROOT, ROOT / "tests" / "fixtures" / "toy_course"):
        course = Course.load(root)
        assert course.unknown_settings() == []
        for name in SCHEMA:
            course.setting(name)             # every value has its schema's type


def test_a_left_out_setting_reads_its_default(course_copy):
    course = Course.load(course_copy)
    assert course.setting("SLOW_CHECK_S") == 30
    text = (course_copy / "course_config.py").read_text(encoding="utf-8")
    (course_copy / "course_config.py").write_text(
        re.sub(r"^SLOW_CHECK_S = .*$", "", text, flags=re.M), encoding="utf-8")
    assert Course.load(course_copy).setting("SLOW_CHECK_S") == SCHEMA["SLOW_CHECK_S"].default


def test_a_misspelt_setting_is_reported_with_the_nearest_name(course_copy, capsys):
    with open(course_copy / "course_config.py", "a", encoding="utf-8") as f:
        f.write("\nCELL_TIMEOUT = 5\n")
    assert cli_main(["--course-dir", str(course_copy), "similarity", "a1_loss"]) == 0
    err = capsys.readouterr().err
    assert "CELL_TIMEOUT is not a setting nncourse knows; it is ignored " \
           "(did you mean CELL_TIMEOUT_S?)" in err


@pytest.mark.parametrize("line, message", [
    ('CELL_TIMEOUT_S = "120"', "CELL_TIMEOUT_S in course_config.py must be a number of seconds > 0"),
    ("SUBMISSION_MAX_FILES = -1", "SUBMISSION_MAX_FILES in course_config.py must be a whole number >= 1"),
    ("SIMILARITY_THRESHOLD = 60", "SIMILARITY_THRESHOLD in course_config.py must be a number from 0 to 1"),
    ("DUE_DATES = []", "DUE_DATES in course_config.py must be a dict"),
])
def test_a_value_of_the_wrong_type_is_refused_with_what_it_must_be(course_copy, line, message):
    with open(course_copy / "course_config.py", "a", encoding="utf-8") as f:
        f.write(f"\n{line}\n")
    name = line.split(" =")[0]
    with pytest.raises(CourseError, match=re.escape(message)):
        Course.load(course_copy).setting(name)
