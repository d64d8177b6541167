"""An instructor without root: an unprivileged account with Debian's own python3 (issue 17).

Fixtures (session; registered in tests/conftest.py, for test_nonroot.py and test_nonroot_attacks.py):

``nonroot_setup``: the account and a copy of this repository in a folder it owns, set up
the README's way by that account, ``/usr/bin/python3 scripts/dev.py setup``, in a clean
environment (its HOME, ``PATH=/usr/bin:/bin``, the machine's CA and proxy settings, nothing
of ours: no VIRTUAL_ENV, PYTHONPATH, pip settings).  The account is ``nncourse-ci`` when the tests run as root (``useradd
--create-home``, reused if it exists, never given sudo), else the account running the tests
(already unprivileged).  The copy holds the repository's files as the working tree has them
(``git ls-files --cached --others --exclude-standard``: uncommitted changes included,
ignored outputs such as .venv left out) and is made afresh every session (the last one is
deleted meanwhile; it stays until then, to look into a failure).  Returns a
``Prepared``, whatever set-up's exit status (``test_setup_...`` asserts it).

``nonroot_course``: the same ``Prepared``, failing the test unless set-up succeeded.

Skipped, with the reason, when /usr/bin/python3 is missing or not Debian's (dpkg does not own
it), except under ``CI=true``: then they fail.

Helpers: ``run_as_user(cmd, cwd)`` / ``popen_as_user(cmd, cwd)`` run a command as the account
(``setpriv --reuid --regid --init-groups`` when we are root) in that clean environment.

Run as a script (by the account's venv python, or ours for a comparison), this module is the
instructor's driver over nncourse's Python API:

    python tests/nonroot.py cohort DEST N AID...   # a copy of the course in DEST, N honest students
    python tests/nonroot.py scores DEST AID...     # JSON: every graded submission's result
"""
import grp
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from nncourse.build import ensure_built
from nncourse.cohort import create_cohort
from nncourse.core.course import Course, copy_course
from nncourse.core.records import load_result

ROOT = Path(__file__).resolve().parent.parent
USER = "nncourse-ci"                  # the unprivileged account made when the tests run as root
PRIVILEGED_GROUPS = {"root", "sudo", "wheel", "adm", "admin", "docker", "lxd", "disk", "shadow"}
DEBIAN_PYTHON = Path("/usr/bin/python3")
CLEAN_PATH = "/usr/bin:/bin"
SETUP_TIMEOUT_S = 1800                # a first set-up downloads every wheel (pip)
COPY_NAME = "nn-learning-course"


@dataclass
class Account:
    name: str
    uid: int
    gid: int
    home: Path


@dataclass
class Prepared:
    """The account's set-up copy of the repository."""
    account: Account
    root: Path                         # the copy (the course directory)
    setup: subprocess.CompletedProcess  # ``/usr/bin/python3 scripts/dev.py setup``
    setup_seconds: float

    @property
    def python(self):
        return self.root / ".venv" / "bin" / "python"

    @property
    def nncourse(self):
        return self.root / ".venv" / "bin" / "nncourse"


def is_root():
    return os.geteuid() == 0


def _groups(name, gid):
    return {g.gr_name for g in grp.getgrall() if name in g.gr_mem} | {grp.getgrgid(gid).gr_name}


def account():
    """The unprivileged account the tests act as (see the module's docstring)."""
    if not is_root():
        pw = pwd.getpwuid(os.geteuid())
        return Account(pw.pw_name, pw.pw_uid, pw.pw_gid, Path(pw.pw_dir))
    for tool, package in (("useradd", "passwd"), ("setpriv", "util-linux")):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is missing: `python3 scripts/dev.py setup` installs Debian's "
                        f"{package} as root")
    try:
        pw = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--user-group", "--shell", "/bin/bash", USER],
                       check=True, capture_output=True, text=True)
        pw = pwd.getpwnam(USER)
    groups = _groups(pw.pw_name, pw.pw_gid)
    if pw.pw_uid == 0 or groups & PRIVILEGED_GROUPS:
        pytest.fail(f"the account {USER} is privileged (uid {pw.pw_uid}, groups "
                    f"{sorted(groups)}): the non-root tests refuse to use it; remove it "
                    f"(userdel -r {USER}) and rerun")
    return Account(pw.pw_name, pw.pw_uid, pw.pw_gid, Path(pw.pw_dir))


# The machine's network settings, not ours: which CAs to trust and which proxy to use.  A
# site sets them for every login (here the container sets them); without them npm, behind
# this machine's TLS-intercepting proxy, reaches no registry.
MACHINE_NETWORK_ENV = ("SSL_CERT_FILE", "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE",
                       "CURL_CA_BUNDLE", "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY",
                       "HTTPS_PROXY", "NO_PROXY")


def user_env(acct, env=None):
    """A login-like environment of the account's own (with the machine's network settings,
    ``MACHINE_NETWORK_ENV``); ``env`` adds or overrides."""
    clean = {"HOME": str(acct.home), "USER": acct.name, "LOGNAME": acct.name,
             "PATH": CLEAN_PATH, "LANG": "C.UTF-8"}
    clean.update({k: os.environ[k] for k in MACHINE_NETWORK_ENV if k in os.environ})
    clean.update(env or {})
    return clean


def popen_as_user(cmd, cwd, env=None, **kw):
    """Start ``cmd`` as the account in its clean environment, in a session of its own."""
    acct = account()
    prefix = (["setpriv", f"--reuid={acct.uid}", f"--regid={acct.gid}", "--init-groups", "--"]
              if is_root() else [])
    return subprocess.Popen(prefix + [str(c) for c in cmd], cwd=cwd, env=user_env(acct, env),
                            start_new_session=True, **kw)


def run_as_user(cmd, cwd, env=None, timeout=600):
    """Run ``cmd`` as the account; a CompletedProcess with text stdout/stderr.  A command
    that outlives ``timeout`` seconds is killed (its whole session) and fails the test."""
    proc = popen_as_user(cmd, cwd, env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{' '.join(map(str, cmd))} (as {account().name}) ran over {timeout} s:\n"
                    f"{out[-4000:]}\n{err[-4000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def output(proc):
    """A command's output for an assertion message (its tail)."""
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-6000:]}\n--- stderr\n{proc.stderr[-6000:]}"


def require_debian_python():
    """Skip (fail under CI=true) unless /usr/bin/python3 is Debian's own build."""
    why = None
    if not DEBIAN_PYTHON.exists():
        why = f"{DEBIAN_PYTHON} is missing"
    elif not shutil.which("dpkg-query") or subprocess.run(
            ["dpkg-query", "-S", str(DEBIAN_PYTHON)], capture_output=True).returncode != 0:
        why = f"{DEBIAN_PYTHON} is not Debian's build (dpkg does not own it)"
    if why:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{why}: CI runs on Debian, where the README's set-up uses it")
        pytest.skip(f"{why}: the non-root tests set up with Debian's own python3")


def repository_files():
    """The repository's files as the working tree has them, ignored outputs left out."""
    names = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, check=True, capture_output=True).stdout.split(b"\0")
    return sorted({os.fsdecode(n) for n in names if n})


def copy_repository(dest, acct):
    """A copy of the repository in ``dest`` (a new folder), owned by the account."""
    dest.mkdir(parents=True)
    for name in repository_files():
        src, dst = ROOT / name, dest / name
        if not (src.exists() or src.is_symlink()):
            continue                                   # deleted in the working tree
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst, follow_symlinks=False)
    if is_root():
        for path in [dest, *dest.rglob("*")]:
            os.lchown(path, acct.uid, acct.gid)
    return dest


def _remove(paths):
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def nonroot_setup(tmp_path_factory):
    """See the module's docstring."""
    require_debian_python()
    acct = account()
    base = acct.home if is_root() else tmp_path_factory.mktemp("nonroot")
    # the last session's copy (its .venv: ~30000 files) is deleted while set-up runs
    if (base / COPY_NAME).exists():
        (base / COPY_NAME).rename(base / f".{COPY_NAME}.old-{os.getpid()}")
    old = sorted(base.glob(f".{COPY_NAME}.old-*"))
    remover = threading.Thread(target=_remove, args=(old,))
    remover.start()
    root = copy_repository(base / COPY_NAME, acct)
    start = time.monotonic()
    setup = run_as_user([DEBIAN_PYTHON, "scripts/dev.py", "setup"], cwd=root,
                        timeout=SETUP_TIMEOUT_S)
    seconds = time.monotonic() - start
    print(f"\n[nonroot] set-up as {acct.name} with {DEBIAN_PYTHON}: {seconds:.1f} s, "
          f"exit {setup.returncode}")
    yield Prepared(acct, root, setup, seconds)
    remover.join()


@pytest.fixture(scope="session")
def nonroot_course(nonroot_setup):
    """The account's set-up copy; fails the test when set-up did not succeed."""
    if nonroot_setup.setup.returncode != 0:
        pytest.fail(f"set-up as {nonroot_setup.account.name} failed:\n"
                    f"{output(nonroot_setup.setup)}")
    return nonroot_setup


# --- the instructor's driver (run as a script by the account's venv python) -------------------
def make_cohort(dest, count, aids):
    """A copy of this course in ``dest`` with ``count`` honest students (the reference
    solutions), each submitting every assignment of ``aids``."""
    course = Course.load(copy_course(ROOT, dest))
    ensure_built(course, aids)                           # the releases the students started from
    cohort = [{"student": f"honest_{i + 1:02d}", "kind": "reference"} for i in range(count)]
    return create_cohort(course, cohort, assignments=aids)


def scores(dest, aids):
    """{"student/aid": {status, score, max_score, auto_max}} of every submission's result."""
    course = Course.load(dest)
    out = {}
    for aid in aids:
        for student in course.students([aid]):
            r = load_result(course, aid, student)
            out[f"{student}/{aid}"] = None if r is None else {
                "status": r["status"], "score": r.get("score"), "max_score": r.get("max_score"),
                "auto_max": sum(c["max_score"] for c in r.get("cells", [])
                                if c["kind"] == "auto")}
    return out


def main(argv):
    if argv[:1] == ["cohort"]:
        print(json.dumps(make_cohort(Path(argv[1]), int(argv[2]), argv[3:])))
    elif argv[:1] == ["scores"]:
        print(json.dumps(scores(Path(argv[1]), argv[2:]), sort_keys=True))
    else:
        sys.exit("usage: python tests/nonroot.py cohort DEST N AID... | scores DEST AID...")


if __name__ == "__main__":
    main(sys.argv[1:])
