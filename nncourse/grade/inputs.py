"""The coordinator's side of a grading task: what it is made of, from the course directory.

- ``make_inputs``: the assignment's grading inputs (course settings, ``autograders/``,
  ``reference/``, the source) as one deterministic archive, with the scratch gradebook
  ``template.db`` that nbgrader's generate_assignment makes from the assignment alone (built
  here, once per digest, in a scratch copy: a worker never builds);
- ``read_submission``: the submission's files as bytes, within the course's limits;
- ``submission_seed``: the secret seed of its random hidden inputs.
"""
from __future__ import annotations

import hmac
import io
import os
import secrets
import shutil
import tarfile
import tempfile
from pathlib import Path

from ..build import build
from ..core.course import Course
from ..core.lock import GRADEBOOK_LOCK
from ..core.files import atomic_write
from ..core.submission import Scan, read, scan
from .task import INPUT_FILES, SKIP, TEMPLATE, GradingInputs, scratch_course


def _walk(base):
    for p in sorted(Path(base).rglob("*")):
        if p.is_file() and not any(s in p.parts for s in SKIP) and not p.name.endswith(".pyc"):
            yield p


def make_inputs(course: Course, aid: str, digest: str) -> GradingInputs:
    """The grading inputs of ``aid`` as an archive (deterministic: sorted, no times), with
    the assignment's scratch gradebook (``template.db``, made once per digest)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=6) as tar:
        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
        tops = [course.root / n for n in INPUT_FILES] + [course.source_dir(aid)]
        for top in tops:
            for p in ([top] if top.is_file() else _walk(top) if top.is_dir() else []):
                add(str(p.relative_to(course.root)), p.read_bytes())
        add(TEMPLATE, template_gradebook(course, aid, digest))
    return GradingInputs(aid, digest, buf.getvalue())


def template_gradebook(course: Course, aid: str, digest: str) -> bytes:
    """An SQLite gradebook that holds the assignment alone (nbgrader's generate_assignment
    in a scratch copy of the inputs), kept in the state dir by digest."""
    path = course.state_dir / "templates" / f"{aid}-{digest[:24]}.db"
    if path.is_file():
        return path.read_bytes()
    lock, pythonpath = GRADEBOOK_LOCK.path, os.environ.get("PYTHONPATH")
    with tempfile.TemporaryDirectory(prefix="nncourse-template-") as tmp:
        root = Path(tmp)
        for name in INPUT_FILES:
            src = course.root / name
            if src.is_dir():
                shutil.copytree(src, root / name, symlinks=True,
                                ignore=shutil.ignore_patterns(*SKIP))
            elif src.is_file():
                shutil.copy2(src, root / name)
        shutil.copytree(course.source_dir(aid), root / "source" / aid, symlinks=True)  # the
        # build tells a shipped module (a symlink into reference/) from a copied one
        try:
            scratch = scratch_course(root)
            build(scratch, [aid])
            data = scratch.gradebook_path.read_bytes()
        finally:
            if lock is not None:
                GRADEBOOK_LOCK.configure(lock)
            if pythonpath is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = pythonpath
    atomic_write(path, data)
    return data


def read_submission(course: Course, aid: str, student: str,
                    found: Scan | None = None) -> dict[str, bytes]:
    """{relative path: bytes} of a submission within the course's limits (``submission.py``:
    links, special files and names that are not UTF-8 left out, sizes checked before reading;
    ``found``: its ``submission.Scan`` when already made)."""
    return read(found or scan(course, aid, student))


def submission_seed(course: Course, fingerprint: str) -> int:
    """The secret seed of a submission's random hidden inputs: HMAC of its fingerprint under
    the course's grading secret (state dir, never in a sandbox), the same on every regrade."""
    path = course.state_dir / "grading-secret"
    if not path.exists():                  # made once, atomically
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    key = path.read_text().strip().encode()
    return int.from_bytes(hmac.new(key, fingerprint.encode(), "sha256").digest()[:8], "big")
