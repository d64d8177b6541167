"""A throw-away PostgreSQL server for the gradebook tests (imported by conftest.py).

``postgres_server`` (session): ``initdb`` and ``pg_ctl start`` in a temporary directory,
listening on 127.0.0.1 at a free port with its unix socket in that directory, trust
authentication for the superuser ``nncourse``; stopped (``pg_ctl stop -m fast``) and deleted
at the end of the session.  The server refuses to run as root: as root, initdb and pg_ctl run
as the ``postgres`` user (``runuser``) if there is one, else as nobody (``setpriv``).

``postgres_url`` (function): a fresh database on that server and its SQLAlchemy URL
(``postgresql+psycopg://nncourse@127.0.0.1:<port>/<db>``).

Both skip the test, with the reason, only when no PostgreSQL server binaries are installed
(``python3 scripts/dev.py setup`` installs Debian's).  Any other failure is an error.
"""
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SUPERUSER = "nncourse"
NOBODY = 65534

DEV = Path(__file__).resolve().parent.parent / "scripts" / "dev.py"

# a developer's NNCOURSE_GRADEBOOK_URL must never send the tests' grading to a real gradebook
os.environ.pop("NNCOURSE_GRADEBOOK_URL", None)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_user():
    """(command prefix, uid, gid) to run the server as: nothing unless we are root."""
    if os.geteuid() != 0:
        return [], os.getuid(), os.getgid()
    try:
        pw = pwd.getpwnam("postgres")
    except KeyError:
        pw = None
    if pw is not None and pw.pw_uid != 0 and shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--"], pw.pw_uid, pw.pw_gid
    if shutil.which("setpriv"):
        return (["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"],
                NOBODY, NOBODY)
    raise RuntimeError("running as root without runuser or setpriv: cannot start PostgreSQL "
                       "as an unprivileged user")


@dataclass
class PostgresServer:
    bindir: Path
    base: Path          # temporary directory: data/, the socket, server.log
    port: int
    prefix: list        # runs a command as the server's user
    host: str = "127.0.0.1"
    user: str = SUPERUSER

    @property
    def data(self):
        return self.base / "data"

    @property
    def log(self):
        return self.base / "server.log"

    def url(self, dbname="postgres"):
        """SQLAlchemy URL (psycopg 3) of a database on this server."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"

    def connect(self, dbname="postgres"):
        import psycopg
        return psycopg.connect(host=self.host, port=self.port, user=self.user,
                               dbname=dbname, autocommit=True, connect_timeout=10)

    def run(self, *args, timeout=120):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C")
        proc = subprocess.run(self.prefix + [str(a) for a in args], cwd=self.base, env=env,
                              capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(map(str, args))} failed ({proc.returncode}):\n"
                               f"{proc.stdout}\n{proc.stderr}\n{log}")
        return proc

    def start(self):
        self.run(self.bindir / "initdb", "-D", self.data, "--auth=trust", "-U", self.user,
                 "--encoding=UTF8", "--locale=C", "--no-sync")
        options = (f"-c listen_addresses={self.host} -p {self.port} "
                   f"-c unix_socket_directories={self.base} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self.run(self.bindir / "pg_ctl", "-D", self.data, "-l", self.log, "-o", options,
                 "-w", "-t", "60", "start")

    def stop(self):
        if (self.data / "postmaster.pid").exists():
            self.run(self.bindir / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server for the session (see the module's docstring)."""
    found = subprocess.run([sys.executable, DEV, "postgres-bindir"], capture_output=True,
                           text=True)         # where scripts/dev.py setup installed the server
    bindir = Path(found.stdout.strip()) if found.returncode == 0 else None
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in "
                    "/usr/lib/postgresql/*/bin: `python3 scripts/dev.py setup` installs "
                    "Debian's postgresql")
    prefix, uid, gid = _server_user()
    base = Path(tempfile.mkdtemp(prefix="nncourse-pg-"))
    os.chown(base, uid, gid)                 # data dir, socket and log: the server's user
    server = None
    try:
        for attempt in range(3):             # a free port may be taken before the server binds
            server = PostgresServer(bindir, base, _free_port(), prefix)
            shutil.rmtree(server.data, ignore_errors=True)
            try:
                server.start()
                break
            except RuntimeError:
                if attempt == 2 or "could not bind" not in (
                        server.log.read_text(errors="replace") if server.log.exists() else ""):
                    raise
        deadline = time.monotonic() + 30
        while True:
            try:
                server.connect().close()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield server
    finally:
        try:
            if server is not None:
                server.stop()
        finally:
            shutil.rmtree(base, ignore_errors=True)


_DB_NUMBERS = itertools.count(1)


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh, empty database on the session's server: its SQLAlchemy URL."""
    name = f"gradebook_{os.getpid()}_{next(_DB_NUMBERS)}"
    with postgres_server.connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield postgres_server.url(name)
    with postgres_server.connect() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
