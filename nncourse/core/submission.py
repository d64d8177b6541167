"""What the coordinator reads of a submission, ``submitted/<student>/<assignment>/``.

Whatever one student put there costs only that student: the folder is listed with
``os.lstat`` (never following a link) and checked against the course's limits BEFORE any
byte is read, then read within those limits.

- a link (to a file, a folder, a loop), a FIFO or a device is left out, never opened;
- a file whose name is not UTF-8 is left out (its name cannot be written anywhere);
- a notebook (``*.ipynb`` at the top) larger than ``NOTEBOOK_MAX_BYTES`` is refused unread:
  the submission is not graded, with the reason;
- the other files (data files, images, ``timestamp.txt``) are kept in name order while they
  fit ``SUBMISSION_MAX_FILES`` and ``SUBMISSION_MAX_BYTES`` (the notebooks count first); the
  rest are left out, each with a note in the result (the notebook is graded without them;
  NOTES_MAX notes, then a count);
- the folder is read entry by entry and no further than ``WALK_LIMIT`` times
  ``SUBMISSION_MAX_FILES`` entries (a folder of millions of files costs that many; the
  assignment's notebooks are then looked up by name);
- a submission folder (or student folder) that is itself a link is refused;
- a notebook whose JSON holds a lone surrogate (``"\\ud800"``, which no UTF-8 writer accepts)
  is graded with that character replaced by U+FFFD, with a note.

``scan`` does the listing; ``digest`` is the submission's fingerprint over exactly what
``read`` sends (streamed, so a large file never sits in memory; for a submission without
notes it equals ``course.tree_digest`` of the folder, so results stay current across this
change); ``read`` returns ``{relative path: bytes}`` (similarity reads the notebooks the same
way).  Any error is a ``SubmissionError`` with a Japanese reason for the student and an English
one for the instructor (``refusal``).  The notes go into the result and, by ``with_notes``, into
the graded notebooks, so that every feedback page shows them (``notes_in``).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .course import Course
from .safetext import encodable, file_name, has_surrogates, replace_surrogates, scrub
from .repair import NOTES_KEY

WALK_LIMIT = 10                       # entries looked at: at most this many times the file cap
WALK_MIN = 1000                       #   and at least this many
NOTES_MAX = 20                        # files left out that are named one by one in the notes
CHUNK = 2**20
NOTES_FIELD = "submission"            # metadata.nncourse.submission of a graded notebook
_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class SubmissionError(Exception):
    """A submission the coordinator will not send to grading: ``ja`` for the student's
    feedback, ``en`` for the instructor's summary."""

    def __init__(self, ja: str, en: str) -> None:
        super().__init__(en)
        self.ja, self.en = ja, en


@dataclass
class Scan:
    base: Path
    aid: str
    files: list[tuple[PurePosixPath, int]] = field(default_factory=list)  # (relative PurePosixPath, size), sorted
    notes_ja: list[str] = field(default_factory=list)  # what was left out or changed, per item
    notes_en: list[str] = field(default_factory=list)
    left_out: int = 0                             # files left out (noted one by one up to
                                                  # NOTES_MAX, then counted)

    def note(self, ja: str, en: str) -> None:
        self.notes_ja.append(ja)
        self.notes_en.append(en)

    def leave_out(self, ja: str, en: str) -> None:
        """Note a file left out; past NOTES_MAX of them, only count it (``scan`` notes how
        many more): a folder of thousands of links makes a page of NOTES_MAX lines."""
        self.left_out += 1
        if self.left_out <= NOTES_MAX:
            self.note(ja, en)


def limits(course: Course) -> tuple[int, int, int]:
    """(notebook max bytes, submission max bytes, submission max files) of the course."""
    return (int(course.setting("NOTEBOOK_MAX_BYTES")),
            int(course.setting("SUBMISSION_MAX_BYTES")),
            int(course.setting("SUBMISSION_MAX_FILES")))


def _mib(n):
    return f"{n / 2**20:.1f} MB"


def _is_notebook(rel):
    return len(rel.parts) == 1 and rel.suffix == ".ipynb"


def _walk(base, budget, wanted=()):
    """(relative PurePosixPath, lstat result or None, raw name) of every entry under
    ``base``, links not followed; at most ``budget`` entries: the folders are read entry by
    entry (``os.scandir``) and the reading stops at the first entry past the budget, so a
    folder of millions of files costs ``budget`` entries.  Then the top-level files named
    ``wanted`` (the assignment's notebooks) that were not among them, and one None."""
    seen, top = 0, set()
    stack = [PurePosixPath()]
    while stack:
        rel_dir = stack.pop()
        entries = []
        with os.scandir(os.fsencode(base / rel_dir)) as it:
            for entry in it:
                seen += 1
                if seen > budget:
                    break
                entries.append(entry)
        for entry in sorted(entries, key=lambda e: e.name):
            try:
                name = entry.name.decode("utf-8")
            except UnicodeDecodeError:
                yield rel_dir / file_name(entry.name), None, entry.name
                continue
            rel = rel_dir / name
            st = entry.stat(follow_symlinks=False)
            if not rel_dir.parts:
                top.add(name)
            if stat.S_ISDIR(st.st_mode):
                if name not in ("__pycache__", ".ipynb_checkpoints"):
                    stack.append(rel)
                continue
            yield rel, st, entry.name
        if seen > budget:
            for name in wanted:
                if name not in top:
                    try:
                        st = os.lstat(base / name)
                    except FileNotFoundError:
                        continue
                    yield PurePosixPath(name), st, os.fsencode(name)
            yield None
            return


def scan(course: Course, aid: str, student: str) -> Scan:
    """The ``Scan`` of a submission: which files ``read`` sends, and the notes; raises
    ``SubmissionError`` when the submission cannot be graded at all."""
    nb_max, total_max, files_max = limits(course)
    top = course.root / "submitted"
    base = course.submitted_dir(student, aid)
    for p in (top / student, base):
        if p.is_symlink():
            raise SubmissionError(
                f"提出フォルダ {p.relative_to(top)} がリンク (symlink) になっているため採点しませんでした。",
                f"the submission folder {p.relative_to(top)} is a symlink: refused")
    found = Scan(base, aid)
    candidates = []
    budget = max(files_max * WALK_LIMIT, WALK_MIN)
    for item in _walk(base, budget, [f"{n}.ipynb" for n in course.notebooks(aid)]):
        if item is None:
            found.note(f"ファイルやフォルダが多すぎる ({budget} 個を超えている) ため、それより後の"
                       "ファイルは使いませんでした (ノートブックは採点しています)。",
                       f"more than {budget} files and folders: the rest were not looked at "
                       "(the notebooks were)")
            break
        rel, st, raw = item
        if st is None:
            found.leave_out(f"ファイル名 {rel} が UTF-8 でないため、このファイルは使いませんでした。",
                            f"file name {rel} is not UTF-8: left out")
        elif stat.S_ISLNK(st.st_mode):
            found.leave_out(f"{rel} はリンク (symlink) なので使いませんでした。",
                            f"{rel} is a symlink: left out")
        elif not stat.S_ISREG(st.st_mode):
            found.leave_out(f"{rel} は普通のファイルではないので使いませんでした。",
                            f"{rel} is not a regular file: left out")
        elif _is_notebook(rel) and st.st_size > nb_max:
            raise SubmissionError(
                f"ノートブック {rel} が大きすぎます ({_mib(st.st_size)}、上限 {_mib(nb_max)})。"
                "出力を消して (Kernel → Restart & Clear Output) 保存し、もう一度提出してください。",
                f"notebook {rel} is {_mib(st.st_size)}, over NOTEBOOK_MAX_BYTES ({_mib(nb_max)}): "
                "refused unread")
        else:
            candidates.append((rel, st.st_size))
    # the notebooks and timestamp.txt first, then the other files in name order
    first = [c for c in candidates if _is_notebook(c[0]) or str(c[0]) == "timestamp.txt"]
    rest = [c for c in candidates if not (_is_notebook(c[0]) or str(c[0]) == "timestamp.txt")]
    total = 0
    for rel, size in first + rest:
        if len(found.files) >= files_max:
            found.leave_out(f"{rel} はファイル数の上限 ({files_max} 個) を超えたので使いませんでした。",
                            f"{rel}: over SUBMISSION_MAX_FILES ({files_max}): left out")
        elif total + size > total_max:
            found.leave_out(f"{rel} ({_mib(size)}) は提出全体の大きさの上限 ({_mib(total_max)}) "
                            "を超えるので使いませんでした。",
                            f"{rel} ({_mib(size)}): over SUBMISSION_MAX_BYTES "
                            f"({_mib(total_max)}): left out")
        else:
            found.files.append((rel, size))
            total += size
    if found.left_out > NOTES_MAX:
        more = found.left_out - NOTES_MAX
        found.note(f"ほかに {more} 個のファイルも同じような理由で使いませんでした。",
                   f"{more} more file(s) left out")
    found.files.sort(key=lambda f: Path(f[0]))        # tree_digest's order
    return found


def _open(scan, rel, size):
    """The file's bytes, at most ``size`` of them (a file that grew since the scan is an
    error: it is not read past what was checked)."""
    fd = os.open(scan.base / rel, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{rel} is no longer a regular file")
        while True:
            chunk = f.read(min(CHUNK, size + 1))
            if not chunk:
                return
            size -= len(chunk)
            if size < 0:
                raise OSError(f"{rel} grew while it was read")
            yield chunk


def digest(scan: Scan) -> str:
    """The fingerprint of what ``read`` sends (``course.tree_digest``'s format), streamed."""
    h = hashlib.sha256()
    for rel, size in scan.files:
        h.update(f"{scan.aid}/{rel}".encode() + b"\0")
        for chunk in _open(scan, rel, size):
            h.update(chunk)
        h.update(b"\0")
    if scan.notes_en:
        h.update(("\0notes\0" + "\n".join(scan.notes_en)).encode("utf-8", "backslashreplace"))
    return h.hexdigest()


def _repair_notebook(scan, rel, data):
    """A notebook's bytes with lone surrogates (in its JSON) replaced by U+FFFD, and a note."""
    if not _ESCAPED_SURROGATE.search(data):
        return data
    try:
        nb = json.loads(data.decode("utf-8"))
    except ValueError:                 # broken JSON: nbgrader says so for this student
        return data
    if not has_surrogates(nb):         # only proper pairs (an emoji written as \\ud83d\\ude00)
        return data
    scan.note(f"{rel} に UTF-8 で書けない文字 (サロゲート) があったため、その文字を置き換えて採点しました。",
              f"{rel} held lone surrogates: replaced before grading")
    return json.dumps(scrub(nb, replace_surrogates), ensure_ascii=False, indent=1).encode("utf-8")


def small_text(path: str | os.PathLike[str], max_bytes: int = 4096) -> str:
    """The text of a small regular file of a submission (``timestamp.txt``): "" when it is a
    link, not a regular file, larger than ``max_bytes`` or unreadable; bytes that are not
    UTF-8 replaced.  For readers outside grading (deadlines, report, export)."""
    try:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size > max_bytes:
            return ""
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            return f.read(max_bytes).decode("utf-8", "replace")
    except OSError:
        return ""


def read(scan: Scan, notebooks_only: bool = False) -> dict[str, bytes]:
    """{relative path: bytes} of the files of ``scan`` (only its notebooks: ``notebooks_only``)."""
    out = {}
    for rel, size in scan.files:
        if notebooks_only and not _is_notebook(rel):
            continue
        data = b"".join(_open(scan, rel, size))
        out[str(rel)] = _repair_notebook(scan, rel, data) if _is_notebook(rel) else data
    return out


def refusal(exc: BaseException) -> tuple[str, str]:
    """(Japanese, English) reason for a submission that could not be read or sent."""
    if isinstance(exc, SubmissionError):
        return exc.ja, exc.en
    what = encodable(f"{type(exc).__name__}: {exc}")
    return (f"提出されたファイルを読み込めなかったため採点しませんでした ({what})。"
            "提出したファイルを確かめて、もう一度提出してください。",
            f"the submission could not be read: {what}")


def with_notes(files: dict[str, bytes], notes_ja: Sequence[str]) -> dict[str, bytes]:
    """The graded files ({relative path: bytes} of ``autograded/``) with ``notes_ja`` (what the
    coordinator left out or changed) stored in each notebook's metadata, where every feedback
    page (``nncourse grade``, ``nncourse feedback``, formgrader's) finds them: ``notes_in``."""
    if not notes_ja:
        return files
    out = dict(files)
    for rel, data in files.items():
        if _is_notebook(PurePosixPath(rel)):
            try:
                nb = json.loads(data.decode("utf-8"))
            except ValueError:         # not nbgrader's JSON: left as it is (no notes)
                continue
            meta = nb.setdefault("metadata", {}).setdefault(NOTES_KEY, {})
            meta[NOTES_FIELD] = [encodable(n) for n in notes_ja]
            out[rel] = json.dumps(nb, ensure_ascii=False, indent=1).encode("utf-8")
    return out


def notes_in(nb: Mapping[str, Any]) -> list[str]:
    """The coordinator's notes stored in a graded notebook by ``with_notes`` (the notebook's
    ``metadata.nncourse`` is the grader's alone: ``repair.RepairSubmission`` clears it)."""
    meta = nb.get("metadata", {}).get(NOTES_KEY, {})
    notes = meta.get(NOTES_FIELD, []) if isinstance(meta, dict) else []
    return [n for n in notes if isinstance(n, str)] if isinstance(notes, list) else []
