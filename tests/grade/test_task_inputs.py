"""The grading inputs archive is unpacked safely on every Python pyproject admits.

``_safe_extract`` does not rely on tarfile's extraction filters (3.11.4+/3.10.12+ only;
Debian 12 ships 3.11.2): it writes plain files and folders itself and refuses anything else.
"""
import io
import tarfile

import pytest

from nncourse.core.course import Course
from nncourse.grade.run import grading_inputs_digest
from nncourse.grade.inputs import make_inputs
from nncourse.grade.task import UnsafeArchive, _safe_extract


def archive(*members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, kind, data in members:
            info = tarfile.TarInfo(name)
            info.type = kind
            if kind == tarfile.SYMTYPE or kind == tarfile.LNKTYPE:
                info.linkname = data
                tar.addfile(info)
            elif kind == tarfile.REGTYPE:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return buf.getvalue()


def test_the_inputs_of_an_assignment_unpack_to_the_same_files(course_copy, tmp_path):
    course = Course.load(course_copy)
    aid = course.assignments[0]
    inputs = make_inputs(course, aid, grading_inputs_digest(course, aid))
    dest = tmp_path / "out"
    dest.mkdir()
    _safe_extract(inputs.archive, dest)
    src = course.root / "reference" / "losses.py"
    assert (dest / "reference" / "losses.py").read_bytes() == src.read_bytes()
    assert (dest / "template.db").stat().st_size > 0
    assert any((dest / "source" / aid).glob("*.ipynb"))


@pytest.mark.parametrize("members", [
    [("../escape.txt", tarfile.REGTYPE, b"x")],
    [("/tmp/absolute.txt", tarfile.REGTYPE, b"x")],
    [("a/../../escape.txt", tarfile.REGTYPE, b"x")],
    [("link", tarfile.SYMTYPE, "/etc/passwd")],
    [("hard", tarfile.LNKTYPE, "/etc/passwd")],
    [("fifo", tarfile.FIFOTYPE, b"")],
    [("dev", tarfile.CHRTYPE, b"")],
], ids=["dotdot", "absolute", "nested-dotdot", "symlink", "hardlink", "fifo", "device"])
def test_anything_but_plain_files_inside_is_refused(tmp_path, members):
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(UnsafeArchive):
        _safe_extract(archive(("ok.txt", tarfile.REGTYPE, b"fine"), *members), dest)
    assert not (tmp_path / "escape.txt").exists()
    assert [p.name for p in dest.rglob("*")] in (["ok.txt"], [])


def test_a_file_is_never_written_through_a_link_in_the_destination(tmp_path):
    dest, outside = tmp_path / "out", tmp_path / "outside"
    dest.mkdir()
    outside.mkdir()
    (dest / "sub").symlink_to(outside)
    with pytest.raises(UnsafeArchive):
        _safe_extract(archive(("sub/x.txt", tarfile.REGTYPE, b"x")), dest)
    assert list(outside.iterdir()) == []
