"""The attack catalogue graded without root (issue 17): an unprivileged account, set up the
README's way with Debian's /usr/bin/python3 (``tests/nonroot.py``), grades the catalogue's
process, disk, leftover, kill and host-file attacks next to honest victims with
``nncourse grade -j 2``, while a process of its own holds 150 threads (an instructor's
Jupyter server).  The "not root + bwrap" column of the README's table of modes, row by row:
what it says holds is shown by attacks that fail, what it says is missing (a uid of its
own; and, without the sandbox, a process count of its own) by attacks that work.
"""
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import pytest

from conftest import configured_copy

from autograders.catalogue.attacks import ASSIGNMENT, attack_notebook, load
from nncourse.build import ensure_built, release_notebook
from nncourse.cohort import reference_submission
from nncourse.core.course import Course
from nncourse.core.records import load_result
from test_attacks import outputs_text as outputs, processes_with, written
from nonroot import is_root, output, popen_as_user, run_as_user

ROOT = Path(__file__).resolve().parents[2]
PRELUDE, ATTACKS = load()
CLASSES = ("process_limit", "disk_fill", "survivors", "pipe_holders", "kill_others",
           "host_files", "namespaces")
VICTIMS = [f"victim_{i}" for i in range(1, 5)]
FULL = 7.0                                   # a1_loss's autograded points (the reference)
SETTINGS = """
CELL_TIMEOUT_S = 10                       # (test) attacks that loop stop fast
NOTEBOOK_TIMEOUT_S = 120
KERNEL_MEMORY_MIB = 1536
"""
MAX_WRITTEN = 200 * 2**20                    # the disk attacks write 300 MB several times
HOLDER = """
import threading, time
ev = threading.Event()
for _ in range(150):
    threading.Thread(target=ev.wait, daemon=True).start()
print("holding", flush=True)
time.sleep(3600)
"""
pytestmark = pytest.mark.slow


def student_of(attack):
    return f"atk_{attack['id']}"


def cohort(base, attacks, token, acct, settings=""):
    """A course copy in ``base`` (owned by the account) with ``attacks`` and the victims."""
    course = configured_copy(ROOT, base / "course", SETTINGS + settings)
    (course.root / "canary.txt").write_text(f"CANARY-{token}\n", encoding="utf-8")
    course = Course.load(course.root)
    ensure_built(course, [ASSIGNMENT])
    name = release_notebook(course, ASSIGNMENT).name
    subs = {v: reference_submission(course, ASSIGNMENT) for v in VICTIMS}
    for attack in attacks:
        subs[student_of(attack)] = attack_notebook(course, attack, {
            "COURSE": course.root, "OTHER": base, "OTHER2": base, "PORT": 9,
            "MARKER": f"{token}-{attack['id']}", "STUDENT": student_of(attack), "RUN": token},
            PRELUDE)
    for student, nb in subs.items():
        dest = course.submitted_dir(student, ASSIGNMENT)
        dest.mkdir(parents=True)
        nbformat.write(nb, dest / name)
    if is_root():
        for p in [base, *base.rglob("*")]:
            os.lchown(p, acct.uid, acct.gid)
    return course


def host_uid(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Uid:"):
                return int(line.split()[1])
    except OSError:
        return None


def grade_as_user(prepared, course, token, env=(), seen_uids=None):
    """``nncourse grade -j 2`` as the account, while it holds 150 threads elsewhere;
    (CompletedProcess, holder still alive, its private TMPDIR's entries after the run).
    ``seen_uids``: a set that gets the host uids of the attacks' processes (their command
    lines carry the run's token), sampled from the host while grading runs."""
    acct = prepared.account
    tmp = Path(tempfile.mkdtemp(prefix="nncourse-nonroot-tmp-"))
    if is_root():
        os.chown(tmp, acct.uid, acct.gid)
    holder = popen_as_user([prepared.python, "-c", HOLDER], cwd=course.root,
                           stdout=subprocess.PIPE, text=True)
    done = threading.Event()

    def sample():
        while not done.wait(0.2):
            seen_uids.update(u for u in (host_uid(pid) for pid, _ in processes_with(token))
                             if u is not None)
    sampler = threading.Thread(target=sample, daemon=True)
    if seen_uids is not None:
        sampler.start()
    try:
        assert holder.stdout.readline().strip() == "holding"
        proc = run_as_user([prepared.nncourse, "--course-dir", course.root, "grade",
                            ASSIGNMENT, "-j", "2", "--no-progress"], cwd=course.root,
                           env={"TMPDIR": str(tmp), "NNATK_RUN": token, **dict(env)},
                           timeout=1500)
        alive = holder.poll() is None
    finally:
        done.set()
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
        time.sleep(1.0)
        for pid, _ in processes_with(token):       # what a weak sandbox let live on
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    left = sorted(os.listdir(tmp))
    shutil.rmtree(tmp, ignore_errors=True)
    return proc, alive, left


@pytest.fixture(scope="module")
def graded(nonroot_course):
    acct = nonroot_course.account
    token = f"NNATK-{secrets.token_hex(6)}"
    base = Path(tempfile.mkdtemp(prefix="nncourse-nonroot-atk-"))
    attacks = [a for a in ATTACKS if a["class"] in CLASSES]
    course = cohort(base, attacks, token, acct)
    before = written(course.root, token, acct.home)
    uids = set()
    proc, alive, left = grade_as_user(nonroot_course, course, token, seen_uids=uids)
    results = {s: load_result(course, ASSIGNMENT, s)
               for s in VICTIMS + [student_of(a) for a in attacks]}
    yield dict(course=course, proc=proc, alive=alive, left=left, results=results, token=token,
               attacks=attacks, growth=written(course.root, token, acct.home) - before,
               survivors=processes_with(token), acct=acct, uids=uids)
    shutil.rmtree(base, ignore_errors=True)


def test_victims_keep_their_grades_beside_the_attacks(graded):
    assert "NOTE: grading without root" in graded["proc"].stdout, output(graded["proc"])
    assert "GRADER FAILED" not in graded["proc"].stdout, output(graded["proc"])
    lost = {v: (r and (r["status"], r.get("score"), r.get("error_en")))
            for v, r in graded["results"].items() if v.startswith("victim_")
            and not (r and r["status"] == "graded" and r["score"] == FULL)}
    assert not lost, (lost, output(graded["proc"]))


def test_the_instructors_own_threads_neither_stop_grading_nor_are_stopped(graded):
    assert graded["alive"]


def test_attacks_gain_nothing_and_read_nothing(graded):
    for attack in graded["attacks"]:
        r = graded["results"][student_of(attack)]
        assert r is not None, attack["id"]
        assert r["status"] != "graded" or r["score"] < FULL or attack["base"] == "reference", \
            (attack["id"], r["score"])
        assert f"CANARY-{graded['token']}" not in outputs(graded["course"], student_of(attack))


def test_nothing_written_on_the_host_and_nothing_left(graded):
    assert graded["growth"] < MAX_WRITTEN, graded["growth"] / 2**20
    assert graded["survivors"] == []
    assert graded["left"] == [], graded["left"]      # the run's TMPDIR: every folder removed


def test_the_kernel_runs_as_the_instructors_uid(graded):
    """What the README's table says is missing without root: a uid of its own.  The attacks'
    processes (the survivors, the fork bomb), seen from the host while grading ran, are the
    instructor's uid."""
    assert graded["uids"] == {graded["acct"].uid}, graded["uids"]


def test_without_the_sandbox_a_fork_bomb_costs_the_others(nonroot_course):
    """The control for the process count: the same fork bomb graded without the sandbox
    (NNCOURSE_NO_SANDBOX=1, as on a machine without bwrap or user namespaces) shares the
    instructor's process count, and victims graded beside it lose their grades; with the
    sandbox (above) none do."""
    acct = nonroot_course.account
    token = f"NNATK-{secrets.token_hex(6)}"
    base = Path(tempfile.mkdtemp(prefix="nncourse-nonroot-ctl-"))
    try:
        bomb = [a for a in ATTACKS if a["id"] == "nproc_fork_bomb"]
        course = cohort(base, bomb, token, acct, settings="KERNEL_MAX_PROCESSES = 300\n")
        proc, _, _ = grade_as_user(nonroot_course, course, token,
                                   env=[("NNCOURSE_NO_SANDBOX", "1")])
        assert "WARNING: NO SANDBOX" in proc.stdout and "NNCOURSE_NO_SANDBOX" in proc.stdout
        lost = [v for v in VICTIMS
                if not ((r := load_result(course, ASSIGNMENT, v)) and r["status"] == "graded"
                        and r["score"] == FULL)]
        assert lost, output(proc)
    finally:
        shutil.rmtree(base, ignore_errors=True)
