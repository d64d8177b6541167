"""``nncourse formgrader``: nbgrader's formgrader on the course directory, for manual grading.

A Jupyter server (the project's JupyterLab 4 / Notebook 7 server) with nbgrader's formgrader
server extension, rooted at the course directory (formgrader reads the course's
``nbgrader_config.py`` from there), bound to 127.0.0.1 and protected by a random token.  The
token goes to the server through the environment (``JUPYTER_TOKEN``), not the command line, so
other users of the machine cannot read it from the process list.  Open the printed
``/formgrader`` URL directly (not JupyterLab's Formgrader panel, an iframe of the same page).

The formgrader saves each manual score and comment in the gradebook (``gradebook.db``, or the
database of ``course_config.GRADEBOOK_URL``) as the teacher types;
``nncourse grade`` (or ``nncourse feedback``) then writes them into the students' feedback.
"""
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

EXTENSION = "nbgrader.server_extensions.formgrader"
MATHJAX_EXTENSION = "jupyter_server_mathjax"      # MathJax 2 files served at /static/jupyter_server_mathjax/
TEMPLATES = Path(__file__).resolve().parent / "templates"


def configure_formgrader(c):
    """Formgrader's submission page with MathJax from this server, not a CDN
    (``course_config.configure_nbgrader``; the formgrader reads the course's nbgrader config).

    nbgrader's formgrade template calls nbconvert's ``mathjax()`` macro, whose default is a
    CDN; offline, formgrade.js then stops at ``MathJax.Hub`` (no keyboard navigation, no
    math).  ``templates/formgrade/mathjax.html.j2`` is found before nbconvert's macro and
    loads the MathJax 2 of jupyter-server-mathjax.  nbgrader's own template folder stays on
    the path (formgrader sets only that one, before the config files are read)."""
    from nbgrader.server_extensions.formgrader import handlers
    c.HTMLExporter.extra_template_basedirs = [str(TEMPLATES), handlers.template_path]
    c.HTMLExporter.extra_template_paths = [str(TEMPLATES / "shared")]   # a11y.css (also feedback's)
    return c


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def server_command(course, port, host="127.0.0.1"):
    """The command line of the Jupyter server (the token is passed in the environment)."""
    return [sys.executable, "-m", "jupyter_server", "--no-browser",
            f"--ServerApp.ip={host}", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={course.root}",
            f"--ServerApp.jpserver_extensions={EXTENSION}=True",
            f"--ServerApp.jpserver_extensions={MATHJAX_EXTENSION}=True",
            "--ServerApp.allow_remote_access=False"] + (
                ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])


def formgrader_url(host, port, token):
    return f"http://{host}:{port}/formgrader?token={token}"


class Formgrader:
    """A running formgrader server (``start``/``stop``, or a ``with`` block)."""

    def __init__(self, course, port=None, host="127.0.0.1", token=None, log=None):
        self.course, self.host = course, host
        self.port = port or free_port(host)
        self.token = token or secrets.token_urlsafe(32)
        self.log = log              # a file for the server's output (None: inherit)
        self.proc = None

    @property
    def url(self):
        return formgrader_url(self.host, self.port, self.token)

    @property
    def base(self):
        return f"http://{self.host}:{self.port}"

    def start(self, timeout=90):
        self.course.prepare_environment()
        env = dict(os.environ, JUPYTER_TOKEN=self.token)
        env.pop("JUPYTER_PASSWORD", None)
        out = self.log if self.log is not None else None
        self.proc = subprocess.Popen(server_command(self.course, self.port, self.host),
                                     cwd=self.course.root, env=env, stdout=out,
                                     stderr=subprocess.STDOUT if out else None,
                                     start_new_session=True)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=90):
        """Block until /formgrader answers with the token (raise RuntimeError otherwise)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"the Jupyter server exited (status {self.proc.returncode})")
            try:
                req = urllib.request.Request(f"{self.base}/formgrader/api/assignments",
                                             headers={"Authorization": f"token {self.token}"})
                with urllib.request.urlopen(req, timeout=5) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError) as exc:
                last = exc
            time.sleep(0.3)
        raise RuntimeError(f"formgrader did not answer within {timeout} s ({last})")

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def serve(course, port=None, host="127.0.0.1", timeout=90):
    """``nncourse formgrader``: run the server until Ctrl-C; print the URL once it answers."""
    path = course.state_dir / "logs" / "formgrader.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as log:
        fg = Formgrader(course, port=port, host=host, log=log)
        print(f"starting formgrader for {course.root} on {host}:{fg.port} …", flush=True)
        try:
            fg.start(timeout)
        except RuntimeError as exc:
            fg.stop()
            print(f"formgrader failed: {exc}; the server's log: {path}", file=sys.stderr)
            return 1
        print("\nformgrader (手動採点) is ready; open this URL in a browser on this machine:\n"
              f"\n    {fg.url}\n\n"
              "Manual scores and comments are saved in the gradebook as you type them\n"
              f"({course.gradebook_name}).  Then run `nncourse grade` (or `nncourse feedback`)\n"
              "to put them into the students' feedback.\n"
              f"The server's log: {path}.  Press Ctrl-C to stop the server.", flush=True)
        # the server runs in its own session: Ctrl-C (SIGINT) and SIGTERM stop it from here
        old = signal.signal(signal.SIGTERM, _interrupt)
        try:
            fg.proc.wait()
        except KeyboardInterrupt:
            pass
        finally:
            fg.stop()
            signal.signal(signal.SIGTERM, old)
    return 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt
