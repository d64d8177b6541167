"""What the tool remembers between the steps of an LTI launch, on the server: the nonces it
issued at login initiation (each accepted once: a replayed id_token is refused) and the
validated launches (by pylti1p3's random launch id, which the browser holds in the tool's
signed session cookie).  pylti1p3's default keeps them in the browser's cookie session, where
a replay with the same cookies would find its nonce again."""
from __future__ import annotations

import threading
import time
import typing as t

from pylti1p3.launch_data_storage.base import LaunchDataStorage

LIFETIME_S = 86400       # a launch stays usable this long (pylti1p3's default)


class LaunchStore(LaunchDataStorage):
    """pylti1p3's launch data storage in this process's memory (``nncourse lti serve`` is
    one process); thread-safe; entries expire."""

    def __init__(self) -> None:
        super().__init__()
        self._data: dict[str, tuple[float, t.Any]] = {}
        self._lock = threading.Lock()

    def get_session_cookie_name(self) -> None:
        return None          # keys are random (state, nonce, launch id): no per-browser prefix

    def can_set_keys_expiration(self) -> bool:
        return True

    def _expire(self, now: float) -> None:
        for key in [k for k, (until, _) in self._data.items() if until < now]:
            del self._data[key]

    def get_value(self, key: str) -> t.Any:
        key = self._prepare_key(key)
        with self._lock:
            self._expire(time.monotonic())
            entry = self._data.get(key)
        return None if entry is None else entry[1]

    def set_value(self, key: str, value: t.Any, exp: int | None = None) -> None:
        key = self._prepare_key(key)
        with self._lock:
            self._data[key] = (time.monotonic() + (exp or LIFETIME_S), value)

    def check_value(self, key: str) -> bool:
        """pylti1p3 asks this of a nonce only: the nonce is used up by the asking."""
        key = self._prepare_key(key)
        with self._lock:
            self._expire(time.monotonic())
            return self._data.pop(key, None) is not None
