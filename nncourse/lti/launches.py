"""What the tool remembers between the steps of an LTI launch, on the server: the state and
nonce it issued at login initiation (each nonce accepted once: a replayed id_token is
refused) and the validated launches (by pylti1p3's random launch id, which the browser holds
in the tool's signed session cookie).  pylti1p3's default keeps them in the browser's cookie
session, where a replay with the same cookies would find its nonce again.

They are kept in ``lti/launches.json`` of the course (git-ignored; mode 0600: launches hold
names and e-mail addresses), rewritten whole on each change (``core/files.atomic_write``), so
a restart of ``nncourse lti serve`` between a login and its launch, or between a launch and
its upload, loses nothing, and a nonce used before the restart stays used.  Entries expire
(``LIFETIME_S``, or what pylti1p3 asks); at most LTI_STATE_MAX_ENTRIES are kept (the ones
that expire first go first).  The key that signs the tool's session cookies is kept in the
tool's key folder (``session_secret``, mode 0600), so a restart does not end the sessions."""
from __future__ import annotations

import json
import os
import secrets
import threading
import time
import typing as t
from pathlib import Path

from pylti1p3.launch_data_storage.base import LaunchDataStorage

from ..core.course import Course
from ..core.files import atomic_write
from .keys import keys_dir

LIFETIME_S = 86400       # a launch stays usable this long (pylti1p3's default)
SECRET = "session_secret"


def path(course: Course) -> Path:
    return course.root / "lti" / "launches.json"


def write_private(file: Path, data: str | bytes) -> None:
    """``atomic_write`` with a file only its owner can read (from its first byte)."""
    old_umask = os.umask(0o077)
    try:
        atomic_write(file, data)
    finally:
        os.umask(old_umask)
    os.chmod(file, 0o600)


def session_secret(course: Course) -> bytes:
    """The key signing the tool's session cookies: made once, kept with the tool's keys."""
    file = keys_dir(course) / SECRET
    try:
        secret = bytes.fromhex(file.read_text(encoding="ascii").strip())
        if len(secret) >= 32:
            return secret
    except (FileNotFoundError, ValueError):
        pass
    secret = secrets.token_bytes(32)
    write_private(file, secret.hex())
    return secret


class LaunchStore(LaunchDataStorage):
    """pylti1p3's launch data storage for ``course`` in ``lti/launches.json`` (see the
    module); thread-safe within ``nncourse lti serve`` (one process)."""

    def __init__(self, course: Course) -> None:
        super().__init__()
        self._path = path(course)
        self._max = int(course.setting("LTI_STATE_MAX_ENTRIES"))
        self._lock = threading.Lock()
        self._data: dict[str, list] = self._read()

    def _read(self) -> dict[str, list]:
        """The kept entries: key -> [expiry (epoch seconds), value]; an unreadable file is
        started afresh (its launches must be opened again from the LMS, nothing else)."""
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError, UnicodeDecodeError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: v for k, v in data.items() if isinstance(v, list) and len(v) == 2
                and isinstance(v[0], (int, float))}

    def _save(self) -> None:
        if len(self._data) > self._max:
            for key in sorted(self._data, key=lambda k: self._data[k][0])[
                    :len(self._data) - self._max]:
                del self._data[key]
        write_private(self._path, json.dumps(self._data, ensure_ascii=False))

    def _expire(self, now: float) -> bool:
        gone = [k for k, (until, _) in self._data.items() if until < now]
        for key in gone:
            del self._data[key]
        return bool(gone)

    def get_session_cookie_name(self) -> None:
        return None          # keys are random (state, nonce, launch id): no per-browser prefix

    def can_set_keys_expiration(self) -> bool:
        return True

    def get_value(self, key: str) -> t.Any:
        key = self._prepare_key(key)
        with self._lock:
            entry = self._data.get(key)
        return None if entry is None or entry[0] < time.time() else entry[1]

    def set_value(self, key: str, value: t.Any, exp: int | None = None) -> None:
        key = self._prepare_key(key)
        with self._lock:
            now = time.time()
            self._expire(now)
            self._data[key] = [now + (exp or LIFETIME_S), value]
            self._save()

    def check_value(self, key: str) -> bool:
        """pylti1p3 asks this of a nonce only: the nonce is used up by the asking."""
        key = self._prepare_key(key)
        with self._lock:
            entry = self._data.pop(key, None)
            self._save()
        return entry is not None and entry[0] >= time.time()
