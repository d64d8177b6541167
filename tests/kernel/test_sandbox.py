"""The grading sandbox (nncourse/kernel/sandbox.py): what a student's code can reach.

Every test uses real bwrap and real kernels.  The cheap ones start one sandboxed kernel with
``SandboxedKernelManager`` (exactly as grading does) and run attacks in it; the slow ones
grade a "spy" submission through ``nncourse grade`` whose solution cell runs the attacks and
prints what it reached, next to an honest student.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import nbformat
import pytest

from nncourse.build import ensure_built, release_notebook
from nncourse.cohort import reference_submission
from nncourse.core.course import Course, copy_course
from nncourse.kernel import sandbox

ROOT = Path(__file__).resolve().parents[2]
needs_bwrap = pytest.mark.skipif(not sandbox.available(), reason="bubblewrap not usable here")
MIB = 1024 * 1024

# --- the attacks, as kernel code: each prints "PROBE <name> <verdict> ..." ----------------
# {course}, {other}, {port}, {marker} are filled in by the test.
ATTACKS = r'''
import os, socket, subprocess, sys, time, errno
def _probe(name, fn):
    try:
        r = fn()
        print("PROBE", name, "REACHED", repr(r)[:80])
    except Exception as e:
        print("PROBE", name, "BLOCKED", type(e).__name__)
def _status(key):
    return [l.split()[1:] for l in open("/proc/self/status") if l.startswith(key + ":")][0]
print("PROBE cap_eff", _status("CapEff")[0], "")
print("PROBE pids", ",".join(sorted(p for p in os.listdir("/proc") if p.isdigit())), "")
try:
    _same = (sorted(os.listdir("/proc/1/root")) == sorted(os.listdir("/"))
             and not os.path.exists("/proc/1/root/.dockerenv"))
except OSError:
    _same = False
print("PROBE proc1_root", "same" if _same else "differs", "")
_probe("course_source", lambda: os.listdir("{course}/source"))
_probe("course_reference", lambda: open("{course}/reference/losses.py").read())
_probe("gradebook", lambda: open("{course}/gradebook.db", "rb").read(10))
_probe("other_checkout", lambda: open("{other}/reference/losses.py").read())
_probe("checkout", lambda: open("{checkout}/reference/losses.py").read())
def _root_home():                  # only the parents of bound paths (interpreter, MNIST cache)
    seen = [os.path.join(d, n) for d, dirs, files in os.walk("/root") for n in dirs + files]
    return [p for p in seen if not p.startswith(("/root/.pyenv", "/root/.cache/nn-learning"))
            and p != "/root/.cache"] or 1 / 0
_probe("root_home", _root_home)
_probe("grader_root", lambda: os.listdir("/proc/{grader}/root/work"))
def _grader_env():                 # the grader's environment (NNCOURSE_ENV_CANARY set by the test)
    found = ["self"] if "NNCOURSE_ENV_CANARY" in os.environ else []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if b"NNCOURSE_ENV_CANARY" in open("/proc/%s/environ" % pid, "rb").read():
                found.append(pid)
        except OSError:
            pass
    return found or 1 / 0
_probe("grader_env", _grader_env)
_probe("import_nncourse", lambda: __import__("nncourse.kernel.checks"))
_probe("import_reference", lambda: __import__("reference.losses"))
_probe("network", lambda: socket.create_connection(("127.0.0.1", {port}), timeout=2))
_probe("write_course", lambda: open("{course}/pwned.txt", "w").write("x"))
_probe("kernel_dir", lambda: open(os.path.join(os.path.dirname(   # 2 MiB: past its tmpfs
    [a for a in open("/proc/self/cmdline").read().split("\0") if a.endswith(".json")][0]),
    "pwned"), "wb").write(b"x" * (2 << 20)))
_probe("new_userns", lambda: subprocess.run(["unshare", "-U", "true"], check=True))
def _fill(path):
    chunk = b"x" * MIB_
    with open(path, "wb") as f:
        for _ in range(300):
            f.write(chunk)
            f.flush()
    return os.path.getsize(path)
MIB_ = 1024 * 1024
_probe("fill_workdir", lambda: _fill("big.bin"))
_probe("fill_tmp", lambda: _fill("/tmp/big.bin"))
def _fill_many():
    for i in range(10):            # 10 x 40 MB: no single file beyond the file-size limit
        with open(f"/tmp/part{{i}}.bin", "wb") as f:
            for _ in range(40):
                f.write(b"y" * MIB_)
                f.flush()
_probe("fill_tmpfs", _fill_many)
for p in ["big.bin", "/tmp/big.bin"] + [f"/tmp/part{{i}}.bin" for i in range(10)]:
    try:
        os.remove(p)
    except OSError:
        pass
if os.fork() == 0:                 # a double-forked setsid survivor
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", "{marker}"])
    os._exit(0)
os.wait()
def _cmdline(pid):
    try:
        return open(f"/proc/{{pid}}/cmdline", "rb").read()
    except OSError:
        return b""
import time as _t                  # the grandchild may not have exec'd sleep yet (a loaded
for _ in range(200):               # machine): wait until it has, so the host can see it
    if any(b"sleep\0{marker}" in _cmdline(p) for p in os.listdir("/proc") if p.isdigit()):
        break
    _t.sleep(0.05)
print("PROBE survivor_started", "ok", "")
'''
PROBE_RE = re.compile(r"PROBE (\S+) (\S+)")


def parse(text):
    return dict(PROBE_RE.findall(text))


def attacks(course, other, port, marker):
    return ATTACKS.format(course=course, other=other, port=port, marker=marker,
                          checkout=ROOT, grader=os.getpid())


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return Course.load(copy_course(ROOT, tmp_path_factory.mktemp("sbx") / "course"))


@pytest.fixture(scope="module")
def other_checkout():
    """Another checkout of the course, outside /tmp and outside the course: must be invisible."""
    base = Path(tempfile.mkdtemp(prefix="nncourse-other-", dir="/var/tmp"))
    copy_course(ROOT, base / "course")
    yield base / "course"
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def server():
    """A server on the host's 127.0.0.1: the kernel must not reach it."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(5)
    yield s.getsockname()[1]
    s.close()


def run_kernel(code, cwd, python=None, marker="-"):
    """Start one sandboxed kernel as grading does, run ``code``, return its stdout text and
    the host uids of the processes whose command line has ``marker`` (before shutdown).

    ``python``: run the whole thing (grader side included) with another interpreter."""
    script = textwrap.dedent(f'''
        import asyncio, json, os, sys
        sys.path.insert(0, {str(ROOT)!r})
        from nncourse.core.course import Course
        from nncourse.kernel import sandbox
        course = Course.load({str(cwd[0])!r})
        sandbox.configure_sandbox(course)
        async def main():
            km = sandbox.SandboxedKernelManager(kernel_name="python3")
            await km.start_kernel(cwd={str(cwd[1])!r})
            kc = km.client(); kc.start_channels()
            out = []
            try:
                await kc.wait_for_ready(timeout=60)
                hook = lambda m: out.append(m["content"].get("text", "")
                                            or m["content"].get("evalue", ""))
                await kc.execute_interactive(sys.stdin.read(), timeout=120, output_hook=hook)
                uids = []
                for pid in filter(str.isdigit, os.listdir("/proc")):
                    try:
                        if {marker!r}.encode() in open(f"/proc/{{pid}}/cmdline", "rb").read():
                            uids += [l.split()[1] for l in open(f"/proc/{{pid}}/status")
                                     if l.startswith("Uid:")]
                    except OSError:
                        pass
            finally:
                kc.stop_channels()
                await km.shutdown_kernel(now=True)
            print(json.dumps({{"out": "".join(out), "sandboxed": sandbox.sandboxed(),
                              "uids": uids, "sandbox_uid": km.uid}}))
        asyncio.run(main())
    ''')
    proc = subprocess.run([python or sys.executable, "-c", script], input=code, text=True,
                          capture_output=True, timeout=300,
                          env=dict(os.environ, NNCOURSE_ENV_CANARY="grader-secret"))
    log = proc.stderr[proc.stderr.find("kernel log (end)"):][:2000] \
        if "kernel log (end)" in proc.stderr else "(the kernel wrote no log)"
    assert proc.returncode == 0, proc.stderr[-3000:] + "\n--- the kernel's own log ---\n" + log
    return json.loads(proc.stdout.strip().splitlines()[-1])


def survivors(marker):
    proc = subprocess.run(["pgrep", "-f", f"sleep {marker}"], capture_output=True, text=True)
    return proc.stdout.split()


def assert_contained(got, course, workdir, before):
    """What every sandboxed kernel must (not) have reached."""
    assert got["cap_eff"] == "0000000000000000", got
    assert len(got["pids"].split(",")) <= 3, got           # bwrap's init + the kernel (+ sleep)
    assert got["proc1_root"] == "same", got                    # /proc/1 is the sandbox's init
    for name in ("course_source", "course_reference", "gradebook", "other_checkout",
                 "checkout", "root_home", "grader_root", "grader_env", "import_nncourse",
                 "import_reference",
                 "network", "kernel_dir", "new_userns", "fill_workdir", "fill_tmp",
                 "fill_tmpfs"):
        assert got.get(name) == "BLOCKED", (name, got)
    # the sandbox's / is read-only; a course under /tmp has its path in the sandbox's own
    # (size-limited) /tmp tmpfs, where a write lands in memory: never on the host (below)
    if Path("/tmp") not in course.root.parents:
        assert got.get("write_course") == "BLOCKED", got
    assert got.get("survivor_started") == "ok", got
    assert sorted(os.listdir(workdir)) == before               # nothing written to the host
    assert not (course.root / "pwned.txt").exists()


def test_protections_and_warning(monkeypatch):
    layers = {layer: on for layer, on, _ in sandbox.protections()}
    assert {"bwrap", "user namespace", "separate uid", "pid namespace",
            "network namespace", "file system", "process count", "limits"} <= set(layers)
    if sandbox.available():
        if os.geteuid() == 0:
            assert sandbox.mode() == "root" and all(layers.values()) and sandbox.warning() == ""
        else:                  # without root: said once, the separate uid is what is missing
            assert sandbox.mode() == "user"
            assert [k for k, on in layers.items() if not on] == ["separate uid"]
            assert sandbox.warning().startswith("NOTE: grading without root")
    monkeypatch.setenv("NNCOURSE_NO_SANDBOX", "1")
    assert sandbox.available() is False and sandbox.mode() == "none"
    text = sandbox.warning()
    assert text.startswith(sandbox.SANDBOX_WARNING) and "pid namespace" in text
    assert "Why: NNCOURSE_NO_SANDBOX is set" in text          # the real cause, not "install"
    assert "process count" in text


def test_no_sandbox_messages_name_the_real_cause(tmp_path):
    """bwrap missing says install it; a bwrap that cannot make namespaces says so (not
    "install bubblewrap"): a stand-in bwrap that fails as Debian's does when user namespaces
    are disabled."""
    assert "apt-get install bubblewrap" in sandbox._probe(None)
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to creating new namespace, likely "
                    "because the kernel does not allow non-privileged user namespaces.' >&2\n"
                    "exit 1\n")
    fake.chmod(0o755)
    why = sandbox._probe(str(fake))
    assert "cannot create the sandbox's namespaces" in why and "user namespaces" in why
    assert "apt-get install" not in why


def test_limits_wrapper_sets_every_rlimit():
    code = ("import resource as r; print([r.getrlimit(getattr(r, 'RLIMIT_' + k))[0] "
            "for k in ('AS', 'CPU', 'NPROC', 'FSIZE', 'NOFILE')])")
    out = subprocess.run([sys.executable, "-m", "nncourse.kernel.limits", "--as-mib", "2048",
                          "--cpu-s", "50", "--nproc", "4000", "--fsize-mib", "8",
                          "--nofile", "256", "--", sys.executable, "-c", code],
                         capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip() == str([2048 * MIB, 50, 4000, 8 * MIB, 256])


@needs_bwrap
def test_sandboxed_kernel_reaches_nothing(course, other_checkout, server, tmp_path):
    workdir = tmp_path / "autograded"
    workdir.mkdir()
    (workdir / "mnist.py").write_text("X = 1\n")
    before = sorted(os.listdir(workdir))
    marker = f"{time.time_ns() % 10**6 + 1000}.5"
    code = attacks(course.root, other_checkout, server, marker) + (
        "print('PROBE own_file', open('mnist.py').read().strip().replace(' ', ''))\n"
        "open('new.txt', 'w').write('ok')\nprint('PROBE created', open('new.txt').read())\n")
    res = run_kernel(code, (course.root, workdir), marker=f"sleep\0{marker}")
    got = parse(res["out"])
    assert res["sandboxed"], res
    assert got.get("own_file") == "X=1" and got.get("created") == "ok", res["out"]
    assert_contained(got, course, workdir, before)
    # the survivor (a child of the kernel, same uid) while the kernel ran, seen from the host
    if os.geteuid() == 0:           # a uid of the grading process's own from the range
        first, count = course.setting("SANDBOX_UID"), course.setting("SANDBOX_UIDS")
        assert first <= res["sandbox_uid"] < first + count, res["sandbox_uid"]
        expected = str(res["sandbox_uid"])
    else:
        expected = str(os.getuid())
    assert res["uids"] == [expected], res["uids"]
    time.sleep(0.5)
    assert survivors(marker) == [], "a setsid child outlived its kernel"
    assert not list(Path("/tmp").glob("nncourse-k-*/pwned"))


@needs_bwrap
def test_venv_under_tmp_runs_a_sandboxed_kernel(course, tmp_path):
    """python3 -m venv /tmp/...: the kernel's interpreter under /tmp (hidden by the sandbox's
    own /tmp tmpfs before this was fixed) still starts."""
    venv = Path(tempfile.mkdtemp(prefix="nncourse-venv-", dir="/tmp"))
    venv.chmod(0o755)                        # as `python3 -m venv /tmp/env` makes it
    try:
        subprocess.run([os.path.join(sys.base_prefix, "bin", "python3"), "-m", "venv",
                        "--system-site-packages", "--without-pip", str(venv)], check=True)
        site = next(venv.glob("lib/python3*/site-packages"))
        project_site = next(Path(sys.prefix).glob("lib/python3*/site-packages"))
        (site / "project.pth").write_text(str(project_site) + "\n")
        workdir = tmp_path / "w"
        workdir.mkdir()
        res = run_kernel("import sys, numpy, ipykernel\nprint('PROBE prefix', sys.prefix)\n",
                         (course.root, workdir), python=str(venv / "bin" / "python"))
        assert res["sandboxed"] and parse(res["out"]).get("prefix") == str(venv), res
    finally:
        shutil.rmtree(venv, ignore_errors=True)


def test_kernel_dies_with_a_sigkilled_grader(course, tmp_path):
    """A grader killed with SIGKILL (a Dask worker lost, a coordinator killed) takes its
    sandboxed kernel and the kernel's children with it: nothing keeps running as the
    sandbox uid (the pid namespace of the outer layer ends with bwrap's init)."""
    if not sandbox.available():
        pytest.skip("bwrap cannot build the sandbox here")
    marker = f"{os.getpid() % 1000}.{time.time_ns() % 100000}"
    script = textwrap.dedent(f"""
        import asyncio, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from nncourse.core.course import Course
        from nncourse.kernel import sandbox
        sandbox.configure_sandbox(Course.load({str(course.root)!r}))
        async def main():
            km = sandbox.SandboxedKernelManager(kernel_name="python3")
            await km.start_kernel(cwd={str(tmp_path)!r})
            kc = km.client(); kc.start_channels()
            await kc.wait_for_ready(timeout=60)
            await kc.execute_interactive(
                "import subprocess; _p = subprocess.Popen(['sleep', '{marker}'])", timeout=60)
            print("READY", flush=True)
            time.sleep(600)
        asyncio.run(main())
    """)
    grader = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        assert grader.stdout.readline().strip() == "READY"
        assert survivors(marker), "the kernel's child did not start"
        grader.kill()
        grader.wait()
        deadline = time.monotonic() + 10
        while survivors(marker) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not survivors(marker)
    finally:
        grader.kill()
        subprocess.run(["pkill", "-9", "-f", f"sleep {marker}"])


# --- through the real pipeline: nncourse grade ------------------------------------------

@pytest.fixture(scope="module")
def spy_course(course, other_checkout, server):
    ensure_built(course, ["a1_loss"])
    name = release_notebook(course, "a1_loss").name
    marker = f"{time.time_ns() % 10**6 + 1000}.25"
    for student in ("good_1", "spy"):
        nb = reference_submission(course, "a1_loss")
        if student == "spy":
            cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
            cell.source = attacks(course.root, other_checkout, server, marker) + "\n" + cell.source
        dest = course.submitted_dir(student, "a1_loss")
        dest.mkdir(parents=True)
        nbformat.write(nb, dest / name)
    course.spy_marker = marker
    return course


def grade_cli(course, env=None):
    return subprocess.run([sys.executable, "-m", "nncourse.cli", "--course-dir", str(course.root),
                           "grade", "--force", "--no-progress", "--jobs", "2", "a1_loss"],
                          capture_output=True, text=True, env={**os.environ, **(env or {})})


def probes(course):
    nb = nbformat.read(course.autograded_dir("spy", "a1_loss") / "loss_functions.ipynb", 4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.outputs if o.get("output_type") == "stream")
    return parse(text)


@pytest.mark.slow
@needs_bwrap
def test_spy_reaches_nothing_when_graded(spy_course):
    workdir = spy_course.autograded_dir("spy", "a1_loss")
    proc = grade_cli(spy_course)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert "NO SANDBOX" not in proc.stdout and "INCOMPLETE" not in proc.stdout
    got = probes(spy_course)
    before = sorted(os.listdir(workdir))
    assert_contained(got, spy_course, workdir, before)
    assert not any(p.stat().st_size > 10 * MIB for p in workdir.rglob("*"))
    time.sleep(0.5)
    assert survivors(spy_course.spy_marker) == [], "a setsid child outlived grading"
    assert re.search(r"good_1\s+7/11", proc.stdout), proc.stdout
    assert re.search(r"spy\s+7/11", proc.stdout), proc.stdout


@pytest.mark.slow
def test_without_sandbox_grading_goes_on_with_a_loud_warning(spy_course):
    proc = grade_cli(spy_course, {"NNCOURSE_NO_SANDBOX": "1"})
    for pid in survivors(spy_course.spy_marker):       # no pid namespace: it survives
        os.kill(int(pid), 9)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert proc.stdout.count("WARNING: NO SANDBOX") == 2          # top and bottom of summary
    assert re.search(r"good_1\s+7/11", proc.stdout), proc.stdout
    assert "NO SANDBOX" in (spy_course.root / "reports" / "a1_loss" / "report.html").read_text(
        encoding="utf-8")
    got = probes(spy_course)
    assert got["course_reference"] == "REACHED"       # what the warning is about
    assert got["fill_workdir"] == "BLOCKED"           # the rlimits still apply (file size)
    (spy_course.root / "pwned.txt").unlink(missing_ok=True)


def test_kernel_caps_printed_output_per_cell(monkeypatch):
    """A huge print is cut inside the kernel (once per cell, with a note); the next cell prints."""
    from jupyter_client.manager import KernelManager

    boot = sandbox.make_boot(Course.load(ROOT))      # kernel_boot.py, wire.py, testfuncs.py

    class BootKM(KernelManager):
        def format_kernel_cmd(self, extra_arguments=None):
            return [sys.executable, str(boot / sandbox.BOOT), "-f", self.connection_file]

    monkeypatch.setenv("NNCOURSE_MAX_OUTPUT_CHARS", "1000")
    km = BootKM()
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        out = []
        hook = lambda m: out.append(m["content"].get("text", ""))  # noqa: E731
        kc.execute_interactive("for _ in range(50): print('x' * 1000)", timeout=60, output_hook=hook)
        kc.execute_interactive("print('y' * 10)", timeout=60, output_hook=hook)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    text = "".join(out)
    assert text.count("x") == 1000 and text.count("y") == 10
    assert text.count("省略") == 1


def test_each_grading_process_gets_its_own_sandbox_uids(tmp_path):
    """RLIMIT_NPROC counts a uid's processes host-wide: grading processes side by side hold
    different uids, two each (the kernel running, the one started ahead), a lock each,
    released when the process ends, even when SIGKILLed."""
    first = 3_000_000 + os.getpid() % 1000 * 10          # a range no other test uses
    code = ("import sys, time; sys.path.insert(0, %r)\n"
            "from nncourse.kernel import sandbox\n"
            "print(*sandbox.sandbox_uids(%d, 5), flush=True); time.sleep(30)\n" % (str(ROOT), first))
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
             for _ in range(4)]
    try:
        got = [[int(u) for u in p.stdout.readline().split()] for p in procs]
        flat = [u for g in got for u in g]
        assert set(flat) == set(range(first, first + 5)), got      # all 5 held, by one each,
        assert all(0 < len(g) <= 2 == len(set(g)) or len(g) == 1 for g in got), got
        assert sorted(flat) in (sorted(range(first, first + 5)),    # or shared: only `first`
                                sorted([first, *range(first, first + 5)])), got
        held = max((g for g in got if first not in g), key=len)
        victim = procs[got.index(held)]
        victim.kill()
        victim.wait()
        again = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        procs.append(again)
        assert [int(u) for u in again.stdout.readline().split()] == held   # free again
    finally:
        for p in procs:
            p.kill()
            p.wait()
