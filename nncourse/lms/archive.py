"""The files of an LMS download: a zip (entry names decoded) or a folder.

A zip written without the UTF-8 flag (bit 11) stores names in the writer's code page; Python
then decodes them as cp437.  Zips made by Japanese Windows' Explorer use cp932 there, macOS and
most tools use UTF-8 without the flag: the raw bytes are tried as UTF-8 first, then cp932.
macOS also writes names decomposed (NFD: 「ピ」 as 「ヒ」 + U+309A); every name is put in NFC,
as typed on other systems, so that 「コピー」 and the roster's names match.
"""
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

IGNORED = {"__MACOSX", ".DS_Store", "Thumbs.db", ".ipynb_checkpoints", "desktop.ini"}
UTF8_FLAG = 0x800


@dataclass
class Entry:
    """One file of a download: its path inside the download and how to read it."""
    name: str                  # posix path relative to the download's root
    _source: object            # (zipfile.ZipFile, ZipInfo) or Path
    mtime: datetime = None     # as stored in the zip / on disk (not trusted for deadlines)

    def read(self):
        if isinstance(self._source, Path):
            return self._source.read_bytes()
        z, info = self._source
        return z.read(info)

    @property
    def parts(self):
        return PurePosixPath(self.name).parts

    @property
    def basename(self):
        return PurePosixPath(self.name).name


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


def _safe(name):
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts:
        return None
    return str(p)


def entries(path):
    """The files of a zip or folder at ``path`` (list of Entry), ignored names left out.

    For a zip the ZipFile stays open as long as the entries are used."""
    path = Path(path)
    out = []
    if path.is_file():
        z = zipfile.ZipFile(path)
        for info in z.infolist():
            if info.is_dir():
                continue
            name = _safe(decode_name(info))
            if name is None or IGNORED & set(PurePosixPath(name).parts):
                continue
            out.append(Entry(name, (z, info), datetime(*info.date_time)))
    elif path.is_dir():
        for p in sorted(path.rglob("*")):
            rel = p.relative_to(path)
            if p.is_file() and not IGNORED & set(rel.parts):
                out.append(Entry(unicodedata.normalize("NFC", rel.as_posix()), p,
                                 datetime.fromtimestamp(p.stat().st_mtime, timezone.utc)))
    return out
