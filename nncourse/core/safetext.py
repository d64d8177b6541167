"""Text that came from a submission, made safe for where nncourse writes it.

- ``encodable``/``scrub``: a lone surrogate (``"\\ud800"`` from a notebook's JSON, or a file
  name that is not UTF-8 as Python decodes it, ``"\\udcff"``) cannot be written as UTF-8 and
  made whole runs fail; it is written as its escape (``\\ud800``) instead, in result records,
  feedback, CSVs and printed summaries.
- ``spreadsheet_cell`` and the CSV writers ``csv_writer``/``CsvDictWriter``: the one place every
  CSV nncourse writes goes through.  A text cell that a spreadsheet would read as a formula
  (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, OWASP's "CSV
  injection" rule, or their full-width forms that Japanese spreadsheets also accept) gets a
  single quote in front (``'=HYPERLINK(…)``), which spreadsheets show as text.  Numbers (a
  score, ``-1.5``) are numbers and stay as they are.
- ``shorten``: a message cut to a length (the check messages a notebook and the feedback
  show, the results' and report's summaries), its last hint line kept.
"""
from __future__ import annotations

import csv
import os
import re
from collections.abc import Callable, Iterable, Mapping
from typing import IO, Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SURROGATE = re.compile("[\ud800-\udfff]")


def shorten(text: str, limit: int, mark: str = "…") -> str:
    """``text`` in at most ``limit`` characters: cut, with ``mark`` where it was cut; a hint
    line ("ヒント: …") at the end is kept when it is short."""
    if len(text) <= limit:
        return text
    last = text[text.rfind("\n", max(0, len(text) - limit // 2)) + 1:] if "\n" in text else ""
    if last.lstrip().startswith("ヒント:") and len(last) + len(mark) + 1 < limit // 2:
        return text[:limit - len(last) - len(mark) - 1] + mark + "\n" + last
    return text[:max(0, limit - len(mark))] + mark


def encodable(text: str) -> str:
    """``text`` with lone surrogates written as escapes (``\\udcff``): valid UTF-8."""
    if not isinstance(text, str) or not _SURROGATE.search(text):
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def replace_surrogates(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD (for a notebook's cells, where an
    escape would be read as code)."""
    return _SURROGATE.sub("\ufffd", text) if isinstance(text, str) else text


def scrub(obj: Any, fix: Callable[[str], str] = encodable) -> Any:
    """``obj`` (str, dict, list, tuple: a result record, JSON data) with every string passed
    through ``fix`` (default ``encodable``), keys too; other values as they are."""
    if isinstance(obj, str):
        return fix(obj)
    if isinstance(obj, dict):
        return {scrub(k, fix): scrub(v, fix) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(scrub(v, fix) for v in obj)
    return obj


def has_surrogates(obj: object) -> bool:
    """Whether any string in ``obj`` (as ``scrub`` walks it) holds a lone surrogate."""
    if isinstance(obj, str):
        return bool(_SURROGATE.search(obj))
    if isinstance(obj, dict):
        return any(has_surrogates(k) or has_surrogates(v) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return any(has_surrogates(v) for v in obj)
    return False


def file_name(name: str | bytes) -> str:
    """A file name for messages: bytes that are not UTF-8 shown as ``\\xff``."""
    return os.fsencode(name).decode("utf-8", "backslashreplace") if isinstance(name, str) \
        else bytes(name).decode("utf-8", "backslashreplace")


def spreadsheet_cell(value: object) -> str | int | float | None:
    """A CSV cell that no spreadsheet runs: text starting like a formula gets a leading
    ``'``; numbers (int, float, or text that is a plain number) are kept."""
    if value is None or isinstance(value, (int, float)):
        return value
    text = encodable(str(value))
    if text.startswith(FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


class _Rows:
    """A ``csv.writer`` whose rows pass through ``spreadsheet_cell``."""

    def __init__(self, writer: Any) -> None:
        self._w = writer

    def writerow(self, row: Iterable[object]) -> Any:
        return self._w.writerow([spreadsheet_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(f: IO[str], **kw: Any) -> _Rows:
    """``csv.writer(f, **kw)`` for nncourse's CSVs (cells through ``spreadsheet_cell``)."""
    return _Rows(csv.writer(f, **kw))


class CsvDictWriter(csv.DictWriter):
    """``csv.DictWriter`` for nncourse's CSVs (cells through ``spreadsheet_cell``; the header
    too)."""

    def writeheader(self) -> Any:
        return self.writer.writerow([spreadsheet_cell(h) for h in self.fieldnames])

    def writerow(self, rowdict: Mapping[str, object]) -> Any:
        return super().writerow({k: spreadsheet_cell(v) for k, v in rowdict.items()})

    def writerows(self, rowdicts: Iterable[Mapping[str, object]]) -> None:
        for row in rowdicts:
            self.writerow(row)
