"""``CheckCellMetadataOnce`` (nncourse/core/metadata.py) says what nbgrader's CheckCellMetadata
says: the same verdict and message for every source notebook of the course and for cells
whose nbgrader metadata a student broke in each way the schema and nbgrader's rules catch."""
import copy
from pathlib import Path

import nbformat
import pytest
from nbgrader.nbgraderformat import MetadataValidator, ValidationError

from nncourse.core.metadata import OnceCheckedMetadataValidator

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "source").glob("*/*.ipynb"))


def breakages():
    yield "unchanged", lambda meta: None
    yield "points a string", lambda meta: meta.update(points="10")
    yield "grade not a bool", lambda meta: meta.update(grade="yes")
    yield "unknown key", lambda meta: meta.update(evil=1)
    yield "no grade_id", lambda meta: meta.pop("grade_id")
    yield "empty grade_id", lambda meta: meta.update(grade_id="")
    yield "no points", lambda meta: meta.pop("points", None) if meta.get("grade") else meta.update(
        grade=True) or meta.pop("points", None)
    yield "schema too old", lambda meta: meta.update(schema_version=1)
    yield "schema too new", lambda meta: meta.update(schema_version=4)
    yield "no schema_version", lambda meta: meta.pop("schema_version")
    yield "not a dict", None


def verdict(validator, nb):
    try:
        validator().validate_nb(nb)
    except (ValidationError, Exception) as exc:            # noqa: B014 (the class matters)
        return type(exc).__name__, str(exc).split("\n")[0]
    return None


@pytest.mark.parametrize("name,breaking", list(breakages()), ids=[n for n, _ in breakages()])
def test_same_verdict_as_nbgrader(name, breaking):
    assert SOURCES
    for path in SOURCES:
        nb = nbformat.read(path, as_version=4)
        graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
        assert graded, path
        if breaking is None:
            graded[0].metadata["nbgrader"] = "points: 100"
        else:
            breaking(graded[0].metadata["nbgrader"])
        theirs = verdict(MetadataValidator, copy.deepcopy(nb))
        ours = verdict(OnceCheckedMetadataValidator, copy.deepcopy(nb))
        assert ours == theirs, (path.name, name)
        if name == "unchanged":
            assert ours is None
        elif name in ("points a string", "grade not a bool", "unknown key", "schema too new"):
            assert ours is not None, (path.name, name)
