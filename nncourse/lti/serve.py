"""``nncourse lti serve``: the tool's app on a WSGI server of its own thread or of the
command (werkzeug's threaded server: for a course's load; put it behind an HTTPS reverse proxy
whose public URL is LTI_TOOL_URL)."""
from __future__ import annotations

import threading

from werkzeug.serving import make_server

from ..core.course import Course
from .app import create_app
from .config import JWKS, LAUNCH, LOGIN


class ToolServer:
    """The tool listening on ``host:port`` (port 0: a free one); ``url`` is its public base
    URL (LTI_TOOL_URL, else http://host:port)."""

    def __init__(self, course: Course, host: str = "127.0.0.1", port: int = 0):
        public = str(course.setting("LTI_TOOL_URL")).rstrip("/")
        self._server = make_server(host, port, _Deferred(), threaded=True)
        self.url = public or f"http://{host}:{self._server.server_port}"
        self._server.app.app = create_app(course, self.url)
        self._thread: threading.Thread | None = None

    def urls(self) -> dict[str, str]:
        """What the platform administrator registers."""
        return {"login initiation URL": self.url + LOGIN, "redirection (launch) URL":
                self.url + LAUNCH, "public keyset (JWKS) URL": self.url + JWKS}

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def start(self) -> ToolServer:
        """Serve from a daemon thread (tests); ``stop()`` ends it."""
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join()


class _Deferred:
    """The WSGI app, set once the server's port (and so the tool's URL) is known."""
    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)
