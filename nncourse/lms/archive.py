"""The files of a download (a zip or a folder), read defensively.

Everything in a download may come from a student, so reading it never trusts it:

- **links** are never followed: a symbolic link in a folder (to a file or a folder) and a zip
  entry stored with a link's mode are listed as refused, never read; folder files are opened
  with ``O_NOFOLLOW`` and must be regular files;
- **names**: zip entry names are decoded as their writer meant them (below); a name that is
  not valid text (bytes that are not UTF-8 in a folder, control characters), or a zip entry
  that would leave the download (``..``, an absolute path) is refused.  Names are only ever
  read, never used to write a file; ``display`` gives the safe text printed for a name;
- **sizes**: ``Limits`` (``COLLECT_MAX_*`` in course_config.py) are checked on the declared
  sizes before anything is read (count of files, size of each, compression ratio) and again
  while reading, which streams and stops at the cap (declared sizes can lie);
- **zips inside the download** (a student's own zip) are opened up to ``COLLECT_MAX_DEPTH``
  levels; their files are named ``<zip's path>/<path inside>``, so the LMS's part of the name
  stays first.  A zip inside that is too deep, too big or broken is refused, alone.

A refused file costs only that file: it is listed with the reason (``Download.refused``) and the
others are read.  Only a download that cannot be read at all raises ``ArchiveError``.

A zip written without the UTF-8 flag (bit 11) stores names in the writer's code page; Python
then decodes them as cp437.  Zips made by Japanese Windows' Explorer use cp932 there, macOS and
most tools use UTF-8 without the flag: the raw bytes are tried as UTF-8 first, then cp932.
macOS also writes names decomposed (NFD: 「ピ」 as 「ヒ」 + U+309A); every name is put in NFC,
as typed on other systems, so that 「コピー」 and the roster's names match.
"""
import errno
import os
import stat
import struct
import tempfile
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from ..core.settings import SCHEMA

IGNORED = {"__MACOSX", ".DS_Store", "Thumbs.db", ".ipynb_checkpoints", "desktop.ini"}
UTF8_FLAG = 0x800
ENCRYPTED_FLAG = 0x1
CHUNK = 1 << 16
RATIO_MIN_BYTES = 1 << 20       # the compression ratio is checked for files larger than this
LABEL_CHARS = 160               # longest name printed (longer ones are cut in the middle)
MAX_NAME_CHARS = 255            # longest file or folder name (as file systems allow)
MAX_PATH_CHARS = 4096           # longest path in a download
CD_BYTES_PER_MEMBER = 1024      # central directory bytes allowed per file a zip may have
# read errors of one file (a damaged, encrypted or lying zip entry, a vanished file)
READ_ERRORS = (OSError, EOFError, zipfile.BadZipFile, zlib.error, RuntimeError,
               NotImplementedError, ValueError)
BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class ArchiveError(Exception):
    """The download as a whole cannot be read (not a zip, too many files): nothing is placed."""


class EntryError(Exception):
    """One file of the download cannot be read; the message says why."""


@dataclass(frozen=True)
class Limits:
    """How much of a download ``collect`` reads (course_config.py's ``COLLECT_MAX_*``)."""
    members: int = SCHEMA["COLLECT_MAX_MEMBERS"].default      # files in the download, zips in it too
    total_bytes: int = SCHEMA["COLLECT_MAX_BYTES"].default    # bytes read out of the download
    file_bytes: int = SCHEMA["COLLECT_MAX_FILE_BYTES"].default  # bytes of one file, as unpacked
    ratio: int = SCHEMA["COLLECT_MAX_RATIO"].default          # unpacked / packed size of a zip entry
    depth: int = SCHEMA["COLLECT_MAX_DEPTH"].default          # levels of zips inside that are opened

    SETTINGS = {"members": "COLLECT_MAX_MEMBERS", "total_bytes": "COLLECT_MAX_BYTES",
                "file_bytes": "COLLECT_MAX_FILE_BYTES", "ratio": "COLLECT_MAX_RATIO",
                "depth": "COLLECT_MAX_DEPTH"}

    @classmethod
    def of(cls, setting):
        """The limits from ``setting(name)`` (``Course.setting``: CourseError when a setting is
        not a whole number >= 0)."""
        return cls(**{attr: setting(name) for attr, name in cls.SETTINGS.items()})


def display(name, limit=LABEL_CHARS):
    """``name`` as safe text to print: undecodable bytes and control characters escaped,
    cut in the middle when longer than ``limit``."""
    text = str(name).encode("utf-8", "backslashreplace").decode("utf-8")
    text = "".join(c.encode("unicode_escape").decode("ascii")
                   if unicodedata.category(c) == "Cc" or c in BIDI_CONTROLS else c for c in text)
    if len(text) > limit:
        text = f"{text[:limit // 2]}…{text[-(limit // 2):]} ({len(text)} characters)"
    return text


def name_problem(name):
    """Why ``name`` (one file or folder name, or a zip entry's path) cannot be used, or ""."""
    if len(name) > MAX_PATH_CHARS or any(len(p) > MAX_NAME_CHARS
                                         for p in name.replace("\\", "/").split("/")):
        return (f"a name longer than {MAX_NAME_CHARS} characters (or a path longer than "
                f"{MAX_PATH_CHARS}): no file system has it; rename the file and collect again")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in name):
        return "the name is not valid UTF-8 text: rename the file and collect again"
    if any(unicodedata.category(c) == "Cc" or c in BIDI_CONTROLS for c in name):
        return "the name has control characters: rename the file and collect again"
    return ""


def decode_name(info):
    """The entry's name as its writer meant it (NFC)."""
    return unicodedata.normalize("NFC", _decode(info))


def _decode(info):
    if info.flag_bits & UTF8_FLAG:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:          # already decoded by a newer zipfile (metadata_encoding)
        return info.filename
    for enc in ("utf-8", "cp932"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return info.filename


def _leaves(name):
    """True when a zip entry's path would leave the download (absolute, a drive, ``..``)."""
    p = PurePosixPath(name.replace("\\", "/"))
    return (p.is_absolute() or ".." in p.parts
            or (bool(p.parts) and len(p.parts[0]) == 2 and p.parts[0][1] == ":"))


def _too_many_members(fp, budget):
    """Why the zip in ``fp`` has more files than ``budget`` by its end record, or "": checked
    before ``zipfile`` reads the central directory into memory (its count, and its size at
    CD_BYTES_PER_MEMBER a file, since the count can lie).  Uses zipfile's own end-record
    reader (``_EndRecData``, in every Python this project admits; skipped if it ever goes)."""
    end_record = getattr(zipfile, "_EndRecData", None)
    if end_record is None:
        return ""
    try:
        rec = end_record(fp)
    except (OSError, ValueError, struct.error):
        return ""
    if not rec:
        return ""                       # not a zip: zipfile says so itself
    count, size = rec[zipfile._ECD_ENTRIES_TOTAL], rec[zipfile._ECD_SIZE]
    if count > budget or size > budget * CD_BYTES_PER_MEMBER:
        return f"a zip of {max(count, size // CD_BYTES_PER_MEMBER):,} files or more"
    return ""


def _is_zip_name(name):
    return name.lower().endswith(".zip")


@dataclass
class Entry:
    """One file of a download: its path inside the download and how to read it."""
    name: str                  # posix path in the download; inside a zip in it: "<zip>/<path>"
    _source: object            # (zipfile.ZipFile, ZipInfo) or Path (a regular file)
    mtime: datetime = None     # as stored in the zip / on disk (not trusted for deadlines)
    size: int = 0              # declared (zip) or on-disk size
    archives: tuple = ()       # the zips inside the download that hold it (their paths)
    _download: object = None

    @property
    def label(self):
        return display(self.name)

    @property
    def parts(self):
        return PurePosixPath(self.name).parts

    @property
    def basename(self):
        return PurePosixPath(self.name).name

    def read(self):
        """The file's bytes, at most the limits allow; EntryError says why not."""
        return self._download.read(self)

    def _open(self):
        if isinstance(self._source, Path):
            return _open_regular(self._source)
        z, info = self._source
        return z.open(info)


def _open_regular(path):
    """A regular file opened for reading without following a link (EntryError otherwise)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise EntryError("a symbolic link: collect never follows links") from None
        raise EntryError(f"cannot be read: {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise EntryError("not a regular file")
    return os.fdopen(fd, "rb")


def _read_capped(f, cap, declared):
    """All of ``f`` (closed after), raising EntryError past ``cap`` bytes: it streams, so a
    file that is larger than declared is never read whole."""
    chunks, total = [], 0
    with f:
        while True:
            chunk = f.read(CHUNK)
            if not chunk:
                break
            total += len(chunk)
            if total > cap:
                raise EntryError(f"larger than {cap:,} bytes when unpacked (declared "
                                 f"{declared:,}): not read")
            chunks.append(chunk)
    return b"".join(chunks)


class Download:
    """The files of a zip or folder at ``path`` within ``limits``.

    ``entries``: the readable files (ignored names such as ``__MACOSX`` left out), in the
    zip's order or sorted by path in a folder;
    ``refused``: [(label, reason)] for files that are not read.  Use it as a context manager
    (or ``close()``) to close the zips."""

    def __init__(self, path, limits=None):
        self.path = Path(path)
        self.limits = limits or Limits()
        self.entries, self.refused = [], []
        self.members = 0              # files counted against limits.members
        self.bytes_read = 0           # bytes read, against limits.total_bytes
        self._closing = []
        try:
            self._list(self.path)
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __iter__(self):
        return iter(self.entries)

    def close(self):
        for f in reversed(self._closing):
            f.close()
        self._closing = []

    # --- reading ------------------------------------------------------------------------
    def read(self, entry):
        lim = self.limits
        left = lim.total_bytes - self.bytes_read
        if entry.size > lim.file_bytes:
            raise EntryError(self._too_big(entry.size))
        if entry.size > left:
            raise EntryError(f"the download's files together are more than COLLECT_MAX_BYTES = "
                             f"{lim.total_bytes:,} bytes: not read (raise it in course_config.py "
                             "if the download is genuine)")
        try:
            data = _read_capped(entry._open(), min(lim.file_bytes, left), entry.size)
        except EntryError:
            raise
        except READ_ERRORS as exc:
            raise EntryError(f"cannot be read from the download ({type(exc).__name__}: "
                             f"{display(exc, 120)}): damaged, encrypted or not what it "
                             "claims; ask for the file again") from None
        self.bytes_read += len(data)
        return data

    def _too_big(self, size):
        return (f"{size:,} bytes when unpacked, more than COLLECT_MAX_FILE_BYTES = "
                f"{self.limits.file_bytes:,}: not read")

    # --- listing ------------------------------------------------------------------------
    def _refuse(self, name, reason):
        self.refused.append((display(name), reason))

    def _list(self, path):
        if path.is_dir():
            self._list_folder(path)
            return
        if not path.exists():
            raise ArchiveError(f"{display(path)}: no such file or folder")
        if not path.is_file():
            raise ArchiveError(f"{display(path)}: not a zip file or a folder")
        try:
            with open(path, "rb") as fp:
                many = _too_many_members(fp, self.limits.members)
            if many:
                raise ArchiveError(f"{display(path)} is {many}, more than COLLECT_MAX_MEMBERS = "
                                   f"{self.limits.members:,}: nothing collected (raise it in "
                                   "course_config.py if the download is genuine)")
            z = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            hint = (" A single notebook: put it in a folder named after the student "
                    "(FOLDER/<student id>/<notebook>.ipynb) and collect FOLDER."
                    if path.suffix.lower() == ".ipynb" else "")
            raise ArchiveError(
                f"{display(path)} is not a zip file that can be read ({display(exc, 120)}). "
                "Give the zip as downloaded from the LMS (Moodle: \"Download all "
                "submissions\"; Canvas: \"Download Submissions\"), or a folder with one "
                f"sub-folder per student; a partly downloaded zip: download it again.{hint}"
            ) from None
        self._closing.append(z)
        files = [i for i in z.infolist() if not i.is_dir()]
        if len(files) > self.limits.members:
            raise ArchiveError(f"{display(path)} has {len(files):,} files, more than "
                               f"COLLECT_MAX_MEMBERS = {self.limits.members:,}: nothing "
                               "collected (raise it in course_config.py if the download is "
                               "genuine)")
        self._list_zip(z, files, "", ())

    def _list_zip(self, z, files, prefix, archives):
        """The entries of zip ``z`` (members ``files``) inside the download at ``prefix``."""
        self.members += len(files)
        lim = self.limits
        for info in files:
            raw = decode_name(info)
            name = f"{prefix}/{raw}" if prefix else raw
            if IGNORED & set(PurePosixPath(raw.replace("\\", "/")).parts):
                continue
            # a file's type is in the high bits on zips made on Unix (Info-ZIP's rule)
            mode = info.external_attr >> 16 if info.create_system == 3 else 0
            why = name_problem(raw)
            if not why and not PurePosixPath(raw.replace("\\", "/")).parts:
                why = "an empty name: not read"
            elif not why and _leaves(raw):
                why = "a path that leaves the download (.. or an absolute path): not read"
            elif not why and stat.S_ISLNK(mode):
                why = ("a symbolic link stored in the zip: collect never follows links; "
                       "put the file itself in the zip")
            elif not why and stat.S_IFMT(mode) and not stat.S_ISREG(mode):
                why = "not a regular file (a device, pipe or socket stored in the zip)"
            elif not why and info.flag_bits & ENCRYPTED_FLAG:
                why = "encrypted (a zip with a password): ask for it without a password"
            elif not why and info.file_size > lim.file_bytes:
                why = self._too_big(info.file_size)
            elif (not why and info.file_size > RATIO_MIN_BYTES
                  and info.file_size > lim.ratio * max(info.compress_size, 1)):
                why = (f"compressed more than COLLECT_MAX_RATIO = {lim.ratio} times "
                       f"({info.compress_size:,} -> {info.file_size:,} bytes): a zip bomb? "
                       "not read")
            if why:
                self._refuse(name, why)
                continue
            name = unicodedata.normalize("NFC", name.replace("\\", "/"))
            try:
                mtime = datetime(*info.date_time)
            except ValueError:              # a date the zip's writer made up
                mtime = None
            entry = Entry(name, (z, info), mtime, info.file_size, archives, self)
            if _is_zip_name(name):
                self._open_inner(entry)
            else:
                self.entries.append(entry)

    def _open_inner(self, entry):
        """A zip inside the download: its files are listed as ``<zip>/<path>``."""
        lim = self.limits
        depth = len(entry.archives) + 1
        if depth > lim.depth:
            self._refuse(entry.name, f"a zip inside {'a zip inside ' * (depth - 1)}the "
                         f"download: not opened (COLLECT_MAX_DEPTH = {lim.depth})")
            return
        try:
            data = self.read(entry)
        except EntryError as exc:
            self._refuse(entry.name, str(exc))
            return
        tmp = tempfile.TemporaryFile(prefix="nncourse-collect-")
        self._closing.append(tmp)
        tmp.write(data)
        del data
        many = _too_many_members(tmp, lim.members - self.members)
        if many:
            self._refuse(entry.name, f"{many}: with the download's other files more than "
                         f"COLLECT_MAX_MEMBERS = {lim.members:,}; not opened")
            return
        try:
            z = zipfile.ZipFile(tmp)
            files = [i for i in z.infolist() if not i.is_dir()]
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            self._refuse(entry.name, f"named .zip but not a zip that can be read "
                         f"({display(exc, 120)})")
            return
        self._closing.append(z)
        if self.members + len(files) > lim.members:
            self._refuse(entry.name, f"a zip of {len(files):,} files: with the download's "
                         f"other files more than COLLECT_MAX_MEMBERS = {lim.members:,}; "
                         "not opened")
            return
        declared = sum(i.file_size for i in files)
        if declared > lim.total_bytes - self.bytes_read:
            self._refuse(entry.name, f"a zip of {declared:,} bytes when unpacked: with the "
                         f"download's other files more than COLLECT_MAX_BYTES = "
                         f"{lim.total_bytes:,}; not opened")
            return
        self._list_zip(z, files, entry.name, entry.archives + (entry.name,))

    def _list_folder(self, root):
        """The files under ``root``, each top-level folder counted as a whole: one that
        would pass COLLECT_MAX_MEMBERS is refused alone (its listing stops there: ``_walk``).
        More than COLLECT_MAX_MEMBERS entries at the top: ArchiveError, read no further."""
        top = []
        try:
            with os.scandir(root) as it:
                for item in it:            # one by one: a folder of millions stops here
                    top.append(item)
                    if len(top) > self.limits.members:
                        raise ArchiveError(
                            f"{display(root)} has more than COLLECT_MAX_MEMBERS = "
                            f"{self.limits.members:,} files and folders at its top: nothing "
                            "collected "
                            "(raise it in course_config.py if the download is genuine)")
        except OSError as exc:
            raise ArchiveError(f"{display(root)}: cannot list the folder: {exc.strerror}") from None
        for item in sorted(top, key=lambda d: d.name):
            found = self._walk(item)
            if found is None:
                self._refuse(item.name + "/", f"a folder of more than "
                             f"{self.limits.members - self.members:,} files and folders "
                             f"(COLLECT_MAX_MEMBERS = {self.limits.members:,}): not read")
                continue
            self.members += len(found)
            for entry in sorted(found, key=lambda e: e.name):
                if _is_zip_name(entry.name):
                    self._open_inner(entry)
                else:
                    self.entries.append(entry)

    def _walk(self, top):
        """The files at ``top`` (a file or a folder, walked without following links), or None
        when it holds more than the limits leave (files and folders both count)."""
        found, stack, seen = [], [(top, top.name)], 0
        budget = self.limits.members - self.members
        while stack:
            item, name = stack.pop()
            seen += 1
            if seen > budget:
                return None
            if item.name in IGNORED:
                continue
            why = name_problem(item.name)
            if why:
                self._refuse(name, why)
                continue
            try:
                if item.is_symlink():
                    try:
                        target = display(os.readlink(item.path), 80)
                    except OSError:
                        target = "?"
                    self._refuse(name, f"a symbolic link (to {target}): collect never follows "
                                 "links; put the file itself in the download")
                    continue
                if item.is_dir(follow_symlinks=False):
                    with os.scandir(item.path) as it:
                        for child in it:
                            stack.append((child, f"{name}/{child.name}"))
                            if len(stack) + seen > budget:
                                return None
                    continue
                if not item.is_file(follow_symlinks=False):
                    self._refuse(name, "not a regular file (a device, pipe or socket)")
                    continue
                st = item.stat(follow_symlinks=False)
            except OSError as exc:
                self._refuse(name, f"cannot be read: {exc.strerror}")
                continue
            if st.st_size > self.limits.file_bytes:
                self._refuse(name, self._too_big(st.st_size))
                continue
            found.append(Entry(unicodedata.normalize("NFC", name), Path(item.path),
                               datetime.fromtimestamp(st.st_mtime, timezone.utc), st.st_size,
                               (), self))
        return found


def open_download(path, limits=None):
    """The ``Download`` at ``path`` (a zip or a folder); ArchiveError when it cannot be read."""
    return Download(path, limits)


def entries(path, limits=None):
    """The readable files of the zip or folder at ``path`` (list of Entry).

    For a zip the ZipFile stays open as long as the entries are used."""
    return open_download(path, limits).entries
